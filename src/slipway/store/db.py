"""Database engine and schema version checks, for SQLite and PostgreSQL."""

from __future__ import annotations

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
        return sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise InvalidInput(f"cannot read the database URL: {exc}",
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
        raise Unavailable(f"cannot open the metadata database: {exc.orig}",
                          hint="check SLIPWAY_DATABASE_URL and that the server is up") from exc


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
