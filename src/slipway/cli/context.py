"""The workspace the CLI works on, from ``--workspace`` or the environment: a
folder, or a server URL (``--workspace http://127.0.0.1:8765``), in which case
credentials come from SLIPWAY_CLIENT_ID/SLIPWAY_CLIENT_SECRET, SLIPWAY_TOKEN or
``slipway login``."""

from __future__ import annotations

from functools import cache

import typer

from slipway.client import Workspace


@cache
def _open(path: str | None) -> Workspace:
    return Workspace(path)


def workspace(ctx: typer.Context) -> Workspace:
    root = ctx.find_root()
    path = (root.obj or {}).get("workspace")
    return _open(path)


def workspace_option(ctx: typer.Context) -> str | None:
    """What ``--workspace`` (or SLIPWAY_WORKSPACE) said, unopened."""
    value = (ctx.find_root().obj or {}).get("workspace")
    return str(value) if value else None
