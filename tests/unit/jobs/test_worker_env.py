from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from slipway.core.errors import Forbidden
from slipway.jobs.worker import _child_env
from slipway.services import identities, tokens


def test_a_run_gets_a_workspace_scoped_token_and_no_secret(ws: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPWAY_CLIENT_ID", "ci-bot")
    monkeypatch.setenv("SLIPWAY_CLIENT_SECRET", "s3cret")
    env = _child_env(ws._ctx, "AutoML_x")
    assert "SLIPWAY_CLIENT_SECRET" not in env and "SLIPWAY_CLIENT_ID" not in env
    assert env["SLIPWAY_RUN_ID"] == "AutoML_x"
    principal = tokens.authenticate(ws._ctx, f"Bearer {env['SLIPWAY_TOKEN']}")
    assert principal.kind == "run" and principal.workspace_id == ws._ctx.workspace_id
    identities.authorize(principal, identities.Action.RUNS_WRITE)
    with pytest.raises(Forbidden):
        identities.authorize(principal, identities.Action.IDENTITIES_WRITE)


def test_a_run_of_a_database_url_workspace_gets_its_folder_and_database(
        ws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.services.workspace import open_database_workspace

    url = ws.database_url
    mounted = tmp_path / "mounted"
    mounted.symlink_to(ws.path)  # this machine mounts the folder elsewhere
    monkeypatch.setenv("SLIPWAY_WORKSPACE", url)  # the worker's own: never the run's
    ctx = open_database_workspace(url, root=mounted)
    try:
        env = _child_env(ctx, "AutoML_x")
    finally:
        ctx.close()
    assert env["SLIPWAY_WORKSPACE"] == str(mounted.resolve())
    assert env["SLIPWAY_DATABASE_URL"] == url


def test_the_one_shot_launcher_passes_folder_and_database(ws: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.jobs import launcher
    from slipway.services.workspace import open_database_workspace

    started: dict[str, Any] = {}

    class FakePopen:
        pid = 4242

        def __init__(self, args: list[str], **kw: Any) -> None:
            started.update(kw, args=args)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(launcher.subprocess, "Popen", FakePopen)
    ctx = open_database_workspace(ws.database_url)
    try:
        assert launcher.launch(ctx.settings, "AutoML_y") == 4242
    finally:
        ctx.close()
    assert started["env"]["SLIPWAY_WORKSPACE"] == str(ws.path)
    assert started["env"]["SLIPWAY_DATABASE_URL"] == ws.database_url
    assert started["cwd"] == ws.path


def test_the_worker_logs_its_database_without_the_password(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import threading
    from types import SimpleNamespace

    from slipway.jobs.worker import serve
    from slipway.settings import Settings

    stop = threading.Event()
    stop.set()
    settings = Settings(workspace=tmp_path, database_url="postgresql+psycopg://bob:s3cret@db/x")
    with caplog.at_level(logging.INFO, logger="slipway.worker"):
        serve(SimpleNamespace(settings=settings), stop=stop)
    assert "bob:***@db/x" in caplog.text and "s3cret" not in caplog.text
