"""A workspace named by its database URL: the database records the workspace
it belongs to and its folder; every way that can go wrong is one clear error."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from slipway import Workspace
from slipway.client.config import DatabaseTarget, resolve_target, resolve_workspace
from slipway.core.errors import InvalidInput, NotFound, SchemaOutOfDate, Unavailable
from slipway.services.workspace import open_database_workspace, open_workspace
from slipway.settings import Settings
from slipway.store import db

UNREACHABLE = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/slipway"


@dataclass
class Folder:
    path: Path
    url: str
    workspace_id: str


def _open_folder(path: Path, url: str) -> str:
    ctx = open_workspace(Settings(workspace=path.resolve(), database_url=url))
    ctx.close()
    return ctx.workspace_id


@pytest.fixture
def folder(tmp_path: Path, database_url: str) -> Folder:
    """A workspace folder whose database (SQLite file or PostgreSQL) is outside it."""
    path = tmp_path / "ws"
    return Folder(path.resolve(), database_url, _open_folder(path, database_url))


def test_a_folder_records_itself_in_its_database(folder: Folder) -> None:
    engine = db.create_db_engine(folder.url)
    record = db.get_workspace_record(engine)
    engine.dispose()
    assert record is not None
    assert (record.workspace_id, record.root) == (folder.workspace_id, folder.path)


def test_a_second_folder_on_the_same_database_is_refused(folder: Folder, tmp_path: Path) -> None:
    other = tmp_path / "other"
    with pytest.raises(InvalidInput) as info:
        _open_folder(other, folder.url)
    error = info.value
    assert error.code == "workspace_mismatch"
    assert folder.workspace_id in error.message and str(folder.path) in error.message
    assert str(other.resolve()) in error.message
    assert not (other / "slipway.json").exists(), "the refused folder became a workspace"


def test_the_database_url_opens_the_recorded_workspace(folder: Folder,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    csv = tmp_path / "tiny.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    monkeypatch.setenv("SLIPWAY_DATABASE_URL", folder.url)
    with Workspace(folder.path) as by_folder:
        by_folder.datasets.register("tiny", csv)
    monkeypatch.delenv("SLIPWAY_DATABASE_URL")
    monkeypatch.chdir(tmp_path)  # relative paths must not matter
    with Workspace(folder.url) as ws:
        assert ws.path == folder.path and ws._ctx.workspace_id == folder.workspace_id
        assert ws._ctx.settings.database_url == folder.url
        assert ws.datasets.get("tiny").num_rows == 20
    monkeypatch.setenv("SLIPWAY_WORKSPACE", folder.url)
    with Workspace.from_config() as ws:
        assert ws.path == folder.path


def test_a_relative_sqlite_url_is_made_absolute(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _open_folder(tmp_path / "ws", f"sqlite:///{tmp_path / 'meta.db'}")
    monkeypatch.chdir(tmp_path)
    with Workspace("sqlite:///meta.db") as ws:
        # Run processes start in the workspace folder: the URL must still find the file.
        assert ws._ctx.settings.database_url == f"sqlite:///{tmp_path.resolve() / 'meta.db'}"


@pytest.mark.parametrize("value", ["sqlite:///x.db", "postgresql://h/db",
                                   "postgresql+psycopg://u:p@h/db", "POSTGRESQL://h/db"])
def test_database_urls_are_workspace_targets(value: str) -> None:
    assert resolve_target(value) == DatabaseTarget(value)


def test_other_url_schemes_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_target("mysql://root@db/slipway")
    assert "mysql://" in info.value.message and "postgresql+psycopg" in (info.value.hint or "")


def test_commands_that_need_the_folder_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_workspace("postgresql+psycopg://bob:s3cret@db/slipway")
    assert info.value.code == "database_workspace" and "s3cret" not in str(info.value)
    with pytest.raises(InvalidInput):
        Workspace("postgresql+psycopg://bob:s3cret@db/slipway", init=True)


def test_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(Unavailable) as info:
        Workspace(UNREACHABLE)
    assert "s3cret" not in str(info.value) and "reachable" in (info.value.hint or "")


def test_the_cli_prints_no_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.cli.main import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--workspace", UNREACHABLE, "worker"])
    assert result.exit_code != 0
    assert "Hint:" in result.output and "127.0.0.1:1" in result.output
    assert "s3cret" not in result.output


def test_an_empty_database_holds_no_workspace(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        sa.create_engine(database_url).connect().close()  # an empty file
    with pytest.raises(NotFound) as info:
        Workspace(database_url)
    assert "holds no Slipway workspace" in info.value.message
    assert "slipway server --workspace FOLDER" in (info.value.hint or "")
    assert "SLIPWAY_DATABASE_URL=" in (info.value.hint or "")


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        Workspace(f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()


def test_a_database_from_before_0007_gets_its_record_on_the_next_folder_open(
        folder: Folder) -> None:
    from alembic import command

    engine = db.create_db_engine(folder.url)
    command.downgrade(db._alembic_config(engine), "0006")
    with pytest.raises(SchemaOutOfDate) as info:
        Workspace(folder.url)
    assert "db upgrade" in (info.value.hint or "") and "SLIPWAY_DATABASE_URL=" in (info.value.hint or "")
    db.upgrade(engine)
    engine.dispose()
    with pytest.raises(NotFound) as missing:  # upgraded, but no folder has opened it since
        Workspace(folder.url)
    assert "slipway server --workspace FOLDER" in (missing.value.hint or "")
    assert _open_folder(folder.path, folder.url) == folder.workspace_id
    with Workspace(folder.url) as ws:
        assert ws.path == folder.path


def test_a_folder_not_reachable_here_and_the_root_override(folder: Folder, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    mounted = tmp_path / "mnt" / "ws"
    mounted.parent.mkdir()
    shutil.move(folder.path, mounted)  # as if this machine mounted the share elsewhere
    with pytest.raises(InvalidInput) as info:
        Workspace(folder.url)
    assert info.value.code == "workspace_root_unreachable"
    assert str(folder.path) in info.value.message
    assert "--root" in (info.value.hint or "") and "SLIPWAY_WORKSPACE_ROOT" in (info.value.hint or "")
    with Workspace(folder.url, root=mounted) as ws:
        assert ws.path == mounted.resolve() and ws._ctx.workspace_id == folder.workspace_id
    monkeypatch.setenv("SLIPWAY_WORKSPACE_ROOT", str(mounted))
    ctx = open_database_workspace(folder.url)
    assert ctx.settings.workspace == mounted.resolve()
    ctx.close()
    # Opening the folder at its new mount point does not move the record.
    assert _open_folder(mounted, folder.url) == folder.workspace_id
    engine = db.create_db_engine(folder.url)
    record = db.get_workspace_record(engine)
    engine.dispose()
    assert record is not None and record.root == folder.path


def test_a_root_holding_another_workspace_is_refused(folder: Folder, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _open_folder(other, f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(InvalidInput) as info:
        Workspace(folder.url, root=other)
    assert info.value.code == "workspace_mismatch" and folder.workspace_id in info.value.message
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput) as empty:
        Workspace(folder.url, root=tmp_path / "empty")
    assert "holds no Slipway workspace" in empty.value.message
    with pytest.raises(InvalidInput):  # root= is only for a database URL
        Workspace(folder.path, root=folder.path)


def test_slipway_worker_takes_the_folder_from_the_database_or_root(
        folder: Folder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.cli.main import app
    from slipway.jobs import worker

    served: list[Path] = []
    monkeypatch.setattr(worker, "serve", lambda ctx, **_: served.append(ctx.settings.workspace))
    mounted = tmp_path / "mnt"
    shutil.move(folder.path, mounted)
    result = CliRunner().invoke(app, ["--workspace", folder.url, "worker", "--root", str(mounted)])
    assert result.exit_code == 0, result.output
    assert served == [mounted.resolve()]
    result = CliRunner().invoke(app, ["--workspace", folder.url, "worker"])
    assert result.exit_code == 2 and "--root" in result.output
    # The worker's own --workspace, as the README writes it, does the same.
    result = CliRunner().invoke(app, ["worker", "--workspace", folder.url, "--root", str(mounted)])
    assert result.exit_code == 0, result.output
    assert served == [mounted.resolve(), mounted.resolve()]


def test_a_worker_refuses_a_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.cli.main import app

    for args, env in ((["worker", "--workspace", "http://127.0.0.1:8765"], {}),
                      (["worker"], {"SLIPWAY_WORKSPACE": "http://127.0.0.1:8765"})):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "server URL" in result.output and "database URL" in result.output


def test_db_status_and_upgrade_take_a_database_url(folder: Folder) -> None:
    import json

    from slipway.cli.main import app

    result = CliRunner().invoke(app, ["--workspace", folder.url, "db", "status", "-o", "json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["up_to_date"] is True and status["current"] == db.head_revision()
    assert status["database"] == db.safe_url(folder.url)
    upgraded = CliRunner().invoke(app, ["--workspace", folder.url, "db", "upgrade"])
    assert upgraded.exit_code == 0 and db.head_revision() in upgraded.stdout
