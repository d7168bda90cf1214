"""Rendering for the CLI: rich tables for people, ``--output json`` for scripts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

# Piped or captured output is not cut to 80 columns: ids must survive `| grep`.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
# soft_wrap: a line of text is never broken by rich, so a key, a token or a URL
# copied from the terminal is whole (tables and panels still fit the width).
console = Console(width=_WIDTH, soft_wrap=True)
err_console = Console(stderr=True, width=_WIDTH, soft_wrap=True)


class Format(StrEnum):
    table = "table"
    json = "json"


OutputOpt = Annotated[Format, typer.Option("--output", "-o", help="table for people, json for scripts")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *,
                title: str | None = None, empty: str = "nothing here yet") -> None:
    if not rows:
        console.print(f"[dim]{empty}[/dim]")
        return
    table = Table(title=title, header_style="bold")
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    for i, column in enumerate(columns):
        if i == 0:  # the name or id people copy into the next command: never cut
            table.add_column(column, no_wrap=True,
                             min_width=max(len(column), *(len(r[0]) for r in cells)))
        else:
            table.add_column(column)
    for row_cells in cells:
        table.add_row(*row_cells)
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


def emit(data: Any, output: Format, render: Any) -> None:
    """JSON as is for scripts; otherwise call ``render()`` for people."""
    if output == Format.json:
        print_json(data)
    else:
        render()
