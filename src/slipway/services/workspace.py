"""Opening a workspace: a folder (artifacts, secrets, logs) and its metadata
database (``slipway.db`` in the folder, or SLIPWAY_DATABASE_URL), or a
database URL alone: the database records the workspace it belongs to and
where that workspace's folder is."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from slipway.core.errors import InvalidInput, NotFound, SchemaOutOfDate
from slipway.settings import Settings
from slipway.store.artifacts import ArtifactStore
from slipway.store.datasets import DatasetStore
from slipway.store.db import (
    WorkspaceRecord,
    create_db_engine,
    current_revision,
    ensure_schema,
    get_workspace_record,
    record_workspace,
    safe_url,
)
from slipway.store.endpoints import EndpointStore
from slipway.store.identities import IdentityStore
from slipway.store.models import ModelStore
from slipway.store.runs import RunStore
from slipway.store.secrets import WorkspaceSecrets

MANIFEST = "slipway.json"


@dataclass
class WorkspaceContext:
    """Everything a service needs: built once, passed explicitly."""

    settings: Settings
    engine: Engine
    artifacts: ArtifactStore
    datasets: DatasetStore
    runs: RunStore
    models: ModelStore
    endpoints: EndpointStore
    secrets: WorkspaceSecrets
    workspace_id: str
    identities = cached_property(lambda self: IdentityStore(self.engine))

    def close(self) -> None:
        self.engine.dispose()


#: Files that may sit in the default workspace folder (~/.slipway) before it is one.
_USER_FILES = frozenset({"credentials.json"})


def _read_manifest(root: Path, *, explicit: bool) -> str | None:
    """The workspace id of folder ``root``; None if it may become a new
    workspace. Refuses a folder that cannot."""
    manifest = root / MANIFEST
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        if data.get("kind") == "slipway-workspace":
            return str(data["workspace_id"])
        raise InvalidInput(f"{manifest} exists but is not a Slipway workspace manifest",
                           hint="choose another folder for the workspace")
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"workspace path {root} is a file, not a folder",
                           hint="pass a folder path with --workspace")
    if root.is_dir() and not explicit and any(
            not p.name.startswith(".") and p.name not in _USER_FILES for p in root.iterdir()):
        raise InvalidInput(f"{root} is not empty and is not a Slipway workspace",
                           hint=f"run `slipway init {root}` to make it one, or choose another folder")
    return None


def _write_manifest(root: Path) -> str:
    workspace_id = uuid.uuid4().hex
    (root / MANIFEST).write_text(json.dumps({
        "kind": "slipway-workspace", "workspace_id": workspace_id,
        "created_at": datetime.now(UTC).isoformat()}, indent=2) + "\n")
    return workspace_id


def _refuse_foreign_database(settings: Settings, record: WorkspaceRecord,
                             workspace_id: str | None) -> None:
    if workspace_id == record.workspace_id:
        return
    mine = f"workspace {workspace_id}" if workspace_id else "a new workspace"
    raise InvalidInput(
        f"the database {safe_url(settings.db_url)} belongs to workspace {record.workspace_id} "
        f"(folder {record.root}), not to {settings.workspace} ({mine})",
        code="workspace_mismatch",
        hint=f"use --workspace {record.root}, or give {settings.workspace} a database of its "
             "own (unset SLIPWAY_DATABASE_URL, or point it at an empty database)")


def _context(settings: Settings, engine: Engine, workspace_id: str) -> WorkspaceContext:
    return WorkspaceContext(settings=settings, engine=engine,
                            artifacts=ArtifactStore(settings.artifacts_dir),
                            datasets=DatasetStore(engine), runs=RunStore(engine),
                            models=ModelStore(engine), endpoints=EndpointStore(engine),
                            secrets=WorkspaceSecrets(settings.workspace / "secrets"),
                            workspace_id=workspace_id)


def open_workspace(settings: Settings, *, init: bool = False) -> WorkspaceContext:
    """Open (creating on first use) the workspace in folder ``settings.workspace``.

    ``init=True`` is `slipway init`: it may turn a non-empty folder into a
    workspace. The database schema is created when empty and refused when it
    is older or newer than this code. The database records the workspace it
    belongs to on first open, and is refused to any other workspace folder.
    """
    workspace_id = _read_manifest(settings.workspace, explicit=init)
    settings.workspace.mkdir(parents=True, exist_ok=True)  # the default database lives there
    engine = create_db_engine(settings.db_url)
    try:
        ensure_schema(engine)
        record = get_workspace_record(engine)
        if record is not None:
            _refuse_foreign_database(settings, record, workspace_id)
        if workspace_id is None:
            workspace_id = _write_manifest(settings.workspace)
        if record is None:
            # A database older than its `workspace` table (or new) gets its row now.
            record = record_workspace(engine, workspace_id, settings.workspace)
            _refuse_foreign_database(settings, record, workspace_id)
    except Exception:
        engine.dispose()
        raise
    return _context(settings, engine, workspace_id)


def open_database_workspace(url: str, *, root: str | Path | None = None,
                            env: dict[str, str] | None = None) -> WorkspaceContext:
    """Open the workspace database ``url`` belongs to: its metadata from ``url``,
    its folder from the database's record, or from ``root`` (else
    SLIPWAY_WORKSPACE_ROOT) where this machine mounts it elsewhere.

    >>> ctx = open_database_workspace("postgresql+psycopg://slipway@db/slipway")
    """
    env = dict(os.environ if env is None else env)
    url = _absolute_sqlite(url)
    engine = create_db_engine(url)
    try:
        record = _database_record(engine, url)
        folder = _workspace_folder(record, root or env.get("SLIPWAY_WORKSPACE_ROOT") or None, url)
        settings = dataclasses.replace(Settings.from_env(workspace=folder, env=env),
                                       database_url=url)
    except Exception:
        engine.dispose()
        raise
    return _context(settings, engine, record.workspace_id)


def _no_workspace(url: str) -> NotFound:
    shown = safe_url(url)
    return NotFound(
        f"the database {shown} holds no Slipway workspace",
        code="workspace_not_found",
        hint=f"start `slipway server --workspace FOLDER` with SLIPWAY_DATABASE_URL={shown}, "
             "or `slipway init FOLDER` with it set, first")


def _absolute_sqlite(url: str) -> str:
    # Run processes start in the workspace folder: a relative SQLite path
    # must mean the same file there.
    import sqlalchemy as sa

    if not url.lower().startswith("sqlite"):
        return url
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return url  # create_db_engine says what is wrong with it
    if not parsed.database or parsed.database == ":memory:":
        raise _no_workspace(url)
    path = Path(parsed.database).expanduser().resolve()
    if not path.is_file():  # connecting would create an empty database
        raise NotFound(f"no SQLite database at {path}", code="workspace_not_found",
                       hint="a workspace's SQLite database is <folder>/slipway.db; "
                            "or pass the folder itself with --workspace")
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def _database_record(engine: Engine, url: str) -> WorkspaceRecord:
    if current_revision(engine) is None:  # an empty database, or another application's
        raise _no_workspace(url)
    try:
        ensure_schema(engine)
    except SchemaOutOfDate as exc:
        if "db upgrade" not in (exc.hint or ""):
            raise
        raise SchemaOutOfDate(exc.message, hint=(
            f"upgrade it where the workspace folder is: SLIPWAY_DATABASE_URL={safe_url(url)} "
            "slipway --workspace FOLDER db upgrade (back up first)")) from exc
    record = get_workspace_record(engine)
    if record is None:  # upgraded from before the record, and not opened by folder since
        raise _no_workspace(url)
    return record


def _workspace_folder(record: WorkspaceRecord, override: str | Path | None, url: str) -> Path:
    folder = Path(override).expanduser().resolve() if override else record.root
    if not folder.is_dir():
        where = f"{folder} (--root / SLIPWAY_WORKSPACE_ROOT)" if override else \
            f"{folder}, recorded in {safe_url(url)},"
        raise InvalidInput(
            f"the workspace folder {where} is not reachable from this machine",
            code="workspace_root_unreachable",
            hint="artifacts, secrets and run logs live in that folder: share it with this "
                 "machine (e.g. NFS) and pass where it is mounted here with --root PATH "
                 "or SLIPWAY_WORKSPACE_ROOT=PATH")
    found = _read_manifest(folder, explicit=True)
    if found != record.workspace_id:
        holds = f"workspace {found}" if found else "no Slipway workspace"
        raise InvalidInput(
            f"{folder} holds {holds}, but the database {safe_url(url)} belongs to workspace "
            f"{record.workspace_id} (folder {record.root})",
            code="workspace_mismatch",
            hint="pass the folder of that workspace as mounted on this machine with --root PATH "
                 "or SLIPWAY_WORKSPACE_ROOT=PATH")
    return folder
