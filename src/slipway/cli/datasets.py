"""`slipway datasets ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from slipway.cli.context import workspace
from slipway.cli.output import Format, OutputOpt, console, emit, print_table

app = typer.Typer(help="Register, inspect and version tabular datasets.", no_args_is_help=True)

VersionOpt = Annotated[int | None, typer.Option("--version", "-v", help="default: latest")]


@app.command()
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="dataset name, e.g. bankmarketing")],
    file: Annotated[str, typer.Option("--file", "-f", help="CSV or Parquet path, or http(s) URL")],
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    output: OutputOpt = Format.table,
) -> None:
    """Register a file as the next version of NAME (identical content returns the existing one)."""
    dataset = workspace(ctx).datasets.register(name, file, description)
    data = {**dataset.to_dict(), "created": dataset.created}

    def render() -> None:
        verb = "Registered" if dataset.created else "Unchanged: already registered as"
        console.print(f"{verb} [bold]{dataset.name}[/bold] version {dataset.version}: "
                      f"{dataset.num_rows:,} rows x {dataset.num_columns} columns")
        console.print(f"[dim]sha256 {dataset.sha256}[/dim]")

    emit(data, output, render)


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="include unregistered (archived) ones")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """List datasets with their latest version."""
    rows = [d.to_dict() for d in workspace(ctx).datasets.list(include_archived=all_)]
    emit(rows, output, lambda: print_table(
        rows, ["name", "latest_version", "num_rows", "num_columns", "description", "updated_at"],
        empty="no datasets yet: slipway datasets register NAME --file FILE"))


@app.command()
def show(ctx: typer.Context, name: str, version: VersionOpt = None,
         output: OutputOpt = Format.table) -> None:
    """Schema and profile of a dataset version."""
    dataset = workspace(ctx).datasets.get(name, version)
    emit(dataset.to_dict(), output, lambda: _render_profile(dataset.to_dict()))


def _render_profile(data: dict[str, Any]) -> None:
    console.print(f"[bold]{data['name']}[/bold] version {data['version']} "
                  f"(latest {data.get('latest_version', data['version'])}): "
                  f"{data['num_rows']:,} rows x {data['num_columns']} columns")
    if data["description"]:
        console.print(data["description"])
    console.print(f"[dim]source {data['source']}\nsha256 {data['sha256']}[/dim]")
    rows = []
    for column in data["columns"]:
        stats = data["profile"].get(column["name"], {})
        rows.append({"column": column["name"], "type": column["type"],
                     "missing": stats.get("missing"), "distinct": stats.get("distinct"),
                     "summary": _summary(stats, data["num_rows"])})
    print_table(rows, ["column", "type", "missing", "distinct", "summary"])


def _summary(stats: dict[str, Any], num_rows: int) -> str:
    """One readable cell: range and mean for numbers, top values otherwise."""
    if stats.get("mean") is not None:
        return (f"{_num(stats['min'])} .. {_num(stats['max'])}, "
                f"mean {_num(stats['mean'])} ± {_num(stats['std'])}")
    top = stats.get("top_values") or []
    parts = [f"{t['value']} {100 * t['count'] / max(num_rows, 1):.0f}%" for t in top[:3]]
    if stats.get("min") is not None:
        parts.insert(0, f"{stats['min']} .. {stats['max']}")
    return ", ".join(parts)


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@app.command()
def preview(ctx: typer.Context, name: str, version: VersionOpt = None,
            rows: Annotated[int, typer.Option("--rows", "-n")] = 10,
            output: OutputOpt = Format.table) -> None:
    """The first rows of a dataset version."""
    records = workspace(ctx).datasets.get(name, version).preview(rows)
    columns = list(records[0]) if records else []
    emit(records, output, lambda: print_table(records, columns, empty="no rows"))


@app.command()
def versions(ctx: typer.Context, name: str, output: OutputOpt = Format.table) -> None:
    """Every version of a dataset."""
    rows = [v.entity.to_dict(with_profile=False) for v in workspace(ctx).datasets.versions(name)]
    emit(rows, output, lambda: print_table(
        rows, ["version", "num_rows", "num_columns", "sha256", "source", "created_at"]))


@app.command()
def consume(ctx: typer.Context, name: str, version: VersionOpt = None) -> None:
    """Print a Python snippet that loads the dataset with the SDK."""
    typer.echo(workspace(ctx).datasets.consume_snippet(name, version), nl=False)


@app.command()
def unregister(ctx: typer.Context, name: str) -> None:
    """Archive a dataset: hidden from `list`, its data kept (`restore` brings it back)."""
    workspace(ctx).datasets.unregister(name)
    console.print(f"Archived {name}; `slipway datasets restore {name}` brings it back.")


@app.command()
def restore(ctx: typer.Context, name: str) -> None:
    """Bring back an archived dataset."""
    workspace(ctx).datasets.restore(name)
    console.print(f"Restored {name}.")
