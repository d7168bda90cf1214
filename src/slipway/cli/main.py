"""The `slipway` command: global options, command groups, and the one place
where errors become a message and an exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from slipway.cli import (
    automl,
    datasets,
    db,
    endpoints,
    identities,
    login,
    models,
    quickstart,
    runs,
    samples,
    server,
    worker,
)
from slipway.cli.output import console, err_console
from slipway.core.errors import SlipwayError


class SlipwayGroup(TyperGroup):
    """Turns a SlipwayError anywhere below into one message and its exit code."""

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except SlipwayError as exc:
            err_console.print(f"[red]Error:[/red] {exc.message}", highlight=False)
            if exc.hint:
                err_console.print(f"[dim]Hint: {exc.hint}[/dim]", highlight=False)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=SlipwayGroup,
    name="slipway",
    help="Take a tabular dataset to a production model, on infrastructure you own.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(datasets.app, name="datasets")
app.add_typer(automl.app, name="automl")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(endpoints.app, name="endpoints")
app.command("deploy")(endpoints.deploy)
app.command("quickstart")(quickstart.quickstart)
app.command("worker")(worker.worker)
app.add_typer(samples.app, name="samples")
app.add_typer(db.app, name="db")
app.add_typer(identities.sp_app, name="sp")
app.add_typer(identities.users_app, name="users")
app.command("server")(server.server)
app.command("login")(login.login)


@app.callback()
def main(
    ctx: typer.Context,
    workspace: Annotated[str | None, typer.Option(
        "--workspace", "-w", envvar="SLIPWAY_WORKSPACE",
        help="workspace folder, server URL (http://HOST:8765) or database URL "
             "(postgresql+psycopg://USER@HOST/DB: the workspace it belongs to); "
             "default: slipway.json found walking up, else ~/.slipway")] = None,
) -> None:
    ctx.obj = {"workspace": workspace}


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="folder for the new workspace")],
    write_config: Annotated[bool, typer.Option(
        "--write-config/--no-write-config",
        help="write ./slipway.json so commands run here use this workspace")] = True,
) -> None:
    """Create a workspace (a folder with the metadata database and artifacts)."""
    from slipway.client import Workspace
    from slipway.client.config import write_config as write
    from slipway.store.db import safe_url

    ws = Workspace(path, init=True)
    console.print(f"Workspace ready at [bold]{ws.path}[/bold] ({safe_url(ws.database_url)})")
    if write_config:
        target = Path.cwd() / "slipway.json"
        if target.exists():
            console.print(f"[dim]{target} exists; left unchanged[/dim]")
        else:
            write(Path.cwd(), ws.path)
            console.print(f"Wrote {target}: commands run in this folder use this workspace.")


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("[yellow]Interrupted.[/yellow]")
        sys.exit(130)
