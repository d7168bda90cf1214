"""Rendering for the CLI: rich tables for people, ``--output json`` for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


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
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
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
