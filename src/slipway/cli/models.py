"""`slipway models ...`: use the models runs produced."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.context import workspace
from slipway.cli.output import console

app = typer.Typer(help="Score data with models.", no_args_is_help=True)


@app.command()
def predict(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="an AutoML run (its best model) or a child run")],
    input: Annotated[str, typer.Option("--input", "-i", help="CSV/Parquet file or URL")],
    output_file: Annotated[Path, typer.Option("--output-file", "-o", help="CSV to write")],
    proba: Annotated[bool, typer.Option("--proba", help="add one probability column per class")] = False,
) -> None:
    """Score a file with a run's model; writes the rows plus `prediction` (and `proba_<class>`)."""
    rows = workspace(ctx).runs.predict_file(run, input, output_file, proba=proba)
    console.print(f"Scored {rows:,} rows -> {output_file}")
