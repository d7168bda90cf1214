from __future__ import annotations

import sqlalchemy as sa

from slipway.store import db


def test_0005_upgrades_and_downgrades(database_url: str) -> None:
    from alembic import command

    engine = db.create_db_engine(database_url)
    try:
        db.upgrade(engine)
        assert {"identities", "refresh_tokens", "login_failures"} <= set(
            sa.inspect(engine).get_table_names())
        command.downgrade(db._alembic_config(engine), "0004")
        assert db.current_revision(engine) == "0004"
        assert not {"identities", "refresh_tokens", "login_failures"} & set(
            sa.inspect(engine).get_table_names())
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()
