"""The ``workspace`` table: which workspace a database belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.errors import InvalidInput, Unavailable
from slipway.store import db


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()


def test_0007_upgrades_and_downgrades(engine: Engine) -> None:
    from alembic import command

    db.upgrade(engine)
    assert "workspace" in sa.inspect(engine).get_table_names()
    command.downgrade(db._alembic_config(engine), "0006")
    assert db.current_revision(engine) == "0006"
    assert "workspace" not in sa.inspect(engine).get_table_names()
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()


def test_the_first_record_holds(engine: Engine, tmp_path: Path) -> None:
    db.upgrade(engine)
    assert db.get_workspace_record(engine) is None
    first = db.record_workspace(engine, "a" * 32, tmp_path / "a")
    assert (first.workspace_id, first.root) == ("a" * 32, tmp_path / "a")
    # A second folder racing to claim the database gets the first one's record back.
    assert db.record_workspace(engine, "b" * 32, tmp_path / "b") == first
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM workspace")).scalar() == 1


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://bob:s3cret@db:5432/slipway", "postgresql+psycopg://bob:***@db:5432/slipway"),
    ("postgresql://bob:p@ss:w0rd@db/slipway", "postgresql://bob:***@db/slipway"),
    ("postgresql+psycopg://bob:s3cret@[::1/x", "postgresql+psycopg://bob:***@[::1/x"),
    ("postgresql+psycopg://bob@db/slipway", "postgresql+psycopg://bob@db/slipway"),
    ("sqlite:////srv/ws/slipway.db", "sqlite:////srv/ws/slipway.db"),
])
def test_passwords_are_masked(url: str, shown: str) -> None:
    assert db.safe_url(url) == shown


def test_an_unreadable_url_is_refused_without_its_password() -> None:
    with pytest.raises(InvalidInput) as info:
        db.create_db_engine("postgresql+psycopg://bob:s3cret@db:notaport/slipway")
    assert "s3cret" not in str(info.value) and "bob:***@db" in info.value.message


def test_an_unreachable_database_is_named_without_its_password() -> None:
    engine = db.create_db_engine("postgresql+psycopg://bob:s3cret@127.0.0.1:1/slipway")
    try:
        with pytest.raises(Unavailable) as info:
            db.current_revision(engine)
    finally:
        engine.dispose()
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:1/slipway" in info.value.message and info.value.hint
