"""`slipway db ...`: the metadata database schema."""

from __future__ import annotations

import typer

from slipway.cli.output import Format, OutputOpt, console, emit
from slipway.client.config import DatabaseTarget, resolve_target, resolve_workspace
from slipway.settings import Settings
from slipway.store import db

app = typer.Typer(help="Inspect and upgrade the metadata database schema.", no_args_is_help=True)


def _engine(ctx: typer.Context):  # type: ignore[no-untyped-def]
    """The workspace's database: a folder's (or SLIPWAY_DATABASE_URL), or a database URL."""
    path = (ctx.find_root().obj or {}).get("workspace")
    target = resolve_target(path)
    url = target.url if isinstance(target, DatabaseTarget) else \
        Settings.from_env(workspace=resolve_workspace(path)).db_url
    return db.safe_url(url), db.create_db_engine(url)


@app.command()
def status(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """The schema version of the database and of this Slipway."""
    shown, engine = _engine(ctx)
    try:
        data = {"database": shown, "current": db.current_revision(engine),
                "head": db.head_revision()}
    finally:
        engine.dispose()
    data["up_to_date"] = data["current"] == data["head"]
    emit(data, output, lambda: console.print(
        f"{data['database']}: schema {data['current']} (this Slipway: {data['head']})"))


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Upgrade the database schema to this Slipway's version."""
    shown, engine = _engine(ctx)
    try:
        before = db.current_revision(engine)
        after = db.upgrade(engine)
    finally:
        engine.dispose()
    console.print(f"{shown}: schema {before} -> {after}")
