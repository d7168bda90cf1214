"""Identity tests run on every backend with cheap argon2 parameters, chosen
through the workspace settings (never in production)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from slipway.services.identities import HASH_COST_SETTING
from slipway.services.workspace import WorkspaceContext


def fast(ctx: WorkspaceContext) -> WorkspaceContext:
    ctx.settings = replace(ctx.settings, extra={**ctx.settings.extra, HASH_COST_SETTING: "fast"})
    return ctx


@pytest.fixture
def ctx(ws: Any) -> WorkspaceContext:
    return fast(ws._ctx)


@pytest.fixture
def open_ctx(ws_path: Path) -> Iterator[Any]:
    """Open more contexts on the same workspace (another server process)."""
    from slipway import Workspace

    opened: list[Any] = []

    def open_() -> WorkspaceContext:
        opened.append(Workspace(ws_path))
        return fast(opened[-1]._ctx)

    yield open_
    for workspace in opened:
        workspace.close()


@pytest.fixture
def fast_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI's workspaces, with the fast hash setting."""
    from slipway import Workspace
    from slipway.cli import context

    opened: list[Any] = []

    @cache
    def _open(path: str | None) -> Any:
        workspace = Workspace(path)
        fast(workspace._ctx)
        opened.append(workspace)
        return workspace

    monkeypatch.setattr(context, "_open", _open)
    yield
    for workspace in opened:
        workspace.close()
