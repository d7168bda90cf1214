"""`slipway db ...`: the metadata database schema."""

from __future__ import annotations

import typer

from slipway.cli.output import Format, OutputOpt, console, emit
from slipway.client.config import resolve_workspace
from slipway.settings import Settings
from slipway.store import db

app = typer.Typer(help="Inspect and upgrade the metadata database schema.", no_args_is_help=True)


def _engine(ctx: typer.Context):  # type: ignore[no-untyped-def]
    path = (ctx.find_root().obj or {}).get("workspace")
    settings = Settings.from_env(workspace=resolve_workspace(path))
    return settings, db.create_db_engine(settings.db_url)


@app.command()
def status(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """The schema version of the database and of this Slipway."""
    settings, engine = _engine(ctx)
    data = {"database": settings.db_url, "current": db.current_revision(engine),
            "head": db.head_revision()}
    data["up_to_date"] = data["current"] == data["head"]
    emit(data, output, lambda: console.print(
        f"{data['database']}: schema {data['current']} (this Slipway: {data['head']})"))


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Upgrade the database schema to this Slipway's version."""
    settings, engine = _engine(ctx)
    before = db.current_revision(engine)
    after = db.upgrade(engine)
    console.print(f"{settings.db_url}: schema {before} -> {after}")
