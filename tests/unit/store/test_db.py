from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.errors import SchemaOutOfDate
from slipway.store import db
from slipway.store.tables import metadata


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()


def test_fresh_database_gets_the_head_schema(engine: Engine) -> None:
    db.ensure_schema(engine)
    assert db.current_revision(engine) == db.head_revision()
    assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())


def test_migrations_match_the_table_definitions(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_schema_from_a_newer_slipway_is_refused(engine: Engine) -> None:
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(SchemaOutOfDate) as info:
        db.ensure_schema(engine)
    assert "newer Slipway" in info.value.message


def test_older_schema_is_refused_with_the_upgrade_command(engine: Engine) -> None:
    db.upgrade(engine)
    # The database is at today's head; pretend the code has moved on.
    with mock.patch.object(db, "head_revision", return_value="9999"), \
            pytest.raises(SchemaOutOfDate) as info:
        db.ensure_schema(engine)
    assert "slipway db upgrade" in (info.value.hint or "")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = db.create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_foreign_tables_without_version_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE other_app (id INTEGER)"))
    with pytest.raises(SchemaOutOfDate):
        db.ensure_schema(engine)


@pytest.mark.parametrize("url", ["foo://bar", "mysql://root@localhost/x", "postgresql+psycopg://::"])
def test_bad_database_urls_are_one_clear_error(url: str) -> None:
    from slipway.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        db.create_db_engine(url)
    assert "database URL" in info.value.message
