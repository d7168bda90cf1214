"""`slipway samples ...`: built-in synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.output import console

app = typer.Typer(help="Generate the built-in synthetic sample data.", no_args_is_help=True)


@app.command("bank-marketing")
def bank_marketing(
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write")],
    rows: Annotated[int, typer.Option("--rows", "-n", min=10, max=10_000_000)] = 5000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """A synthetic dataset with the columns and value sets of the public
    bank-marketing data (target `y`, about 11% yes). Not real customers."""
    from slipway.samples import write_bank_marketing_csv

    write_bank_marketing_csv(out, n_rows=rows, seed=seed)
    console.print(f"Wrote {rows:,} synthetic rows to {out}")
