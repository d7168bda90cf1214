"""The workspace the CLI works on, from ``--workspace`` or the environment."""

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
