"""Database engine and schema version checks, for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.errors import InvalidInput, SchemaOutOfDate, Unavailable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # One place for SQLite discipline: WAL for concurrent readers, foreign keys
    # on, and a busy timeout so a second writer waits instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def safe_url(url: str) -> str:
    """``url`` fit to print: its password masked (errors, logs, CLI output)."""
    with contextlib.suppress(sa.exc.ArgumentError, ValueError):
        url = sa.engine.make_url(url).render_as_string(hide_password=True)
    # Unparseable, or an unencoded "@" in the password: mask up to the host's "@".
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", url)


def create_db_engine(url: str) -> Engine:
    if not url.startswith(("sqlite", "postgresql")):
        raise InvalidInput(f"unsupported database URL {url.split('://')[0]}://...",
                           hint="use sqlite:///path/slipway.db or postgresql+psycopg://user@host/db "
                                "in SLIPWAY_DATABASE_URL")
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql") and "+psycopg" not in url.split("://", 1)[0]:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        # A database behind a firewall that drops packets fails in seconds, not minutes.
        connect_args = {} if "connect_timeout" in url else {"connect_timeout": 10}
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (sa.exc.ArgumentError, ValueError) as exc:
        # The driver's message may quote the URL, password and all: name it masked.
        raise InvalidInput(f"cannot read the database URL {safe_url(url)}",
                           hint="e.g. postgresql+psycopg://user@host:5432/db") from exc
    except ModuleNotFoundError as exc:
        raise Unavailable(f"the driver for {url.split('://')[0]} is not installed",
                          hint="pip install 'slipway[postgres]'") from exc


def _alembic_config(engine: Engine | None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "no reason"
        raise Unavailable(f"cannot open the metadata database {safe_url(str(engine.url))}: "
                          f"{reason}",
                          hint="check the database URL and that the database server is up "
                               "and reachable from this machine") from exc


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")
    return head_revision()


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database; refuse a database whose schema
    is older or newer than this code."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        if sa.inspect(engine).get_table_names():
            raise SchemaOutOfDate(
                "the database has tables but no Slipway schema version",
                hint="point SLIPWAY_DATABASE_URL at an empty database or a Slipway workspace")
        upgrade(engine)
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(_alembic_config(engine))
    try:
        known = script.get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise SchemaOutOfDate(
            f"the database schema ({current}) was written by a newer Slipway",
            hint="upgrade slipway: pip install -U slipway")
    raise SchemaOutOfDate(
        f"the database schema ({current}) is older than this Slipway ({head})",
        hint="run `slipway db upgrade` (back up the workspace first)")


@dataclass(frozen=True)
class WorkspaceRecord:
    """The workspace a database belongs to (the ``workspace`` table's one row)."""

    workspace_id: str
    root: Path
    created_at: datetime


def get_workspace_record(engine: Engine) -> WorkspaceRecord | None:
    from slipway.store.tables import workspace

    with engine.connect() as conn:
        row = conn.execute(sa.select(workspace)).first()
    if row is None:
        return None
    return WorkspaceRecord(workspace_id=row.workspace_id, root=Path(row.root),
                           created_at=row.created_at)


def record_workspace(engine: Engine, workspace_id: str, root: Path) -> WorkspaceRecord:
    """Record the database's workspace unless one is recorded; returns the
    record that holds (a concurrent first open may have won)."""
    from slipway.store.tables import workspace

    with contextlib.suppress(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(workspace).values(
            id=1, workspace_id=workspace_id, root=str(root), created_at=datetime.now(UTC)))
    record = get_workspace_record(engine)
    assert record is not None
    return record
