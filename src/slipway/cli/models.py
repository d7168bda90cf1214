"""`slipway models ...`: the model registry, and scoring files with models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from slipway.cli.context import workspace
from slipway.cli.output import Format, OutputOpt, console, emit, print_table
from slipway.core.errors import InvalidInput

app = typer.Typer(help="Register, inspect, export and use models.", no_args_is_help=True)


def _tags(values: list[str] | None) -> dict[str, str]:
    tags = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"cannot read the tag {item!r}", hint="use --tag key=value")
        tags[key] = value
    return tags


@app.command()
def register(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="AutoML run id (its best child by default)")],
    name: Annotated[str, typer.Option("--name", "-n", help="model name, e.g. bank-model")],
    child: Annotated[str | None, typer.Option("--child", help="another child run of --run")] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="key=value, repeatable")] = None,
    output: OutputOpt = Format.table,
) -> None:
    """Register a run's model as the next version of NAME."""
    model = workspace(ctx).models.register(run, name, child=child, description=description,
                                           tags=_tags(tag))
    emit(model.to_dict(), output, lambda: console.print(
        f"Registered [bold]{model.ref}[/bold] ({model.algorithm}) from run {model.run_id}"))


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """Registered models, latest version of each."""
    rows = [_row(m) for m in workspace(ctx).models.list()]
    emit(rows, output, lambda: print_table(
        rows, ["model", "algorithm", "task", "primary_score", "dataset", "created_at"],
        empty="no models yet: slipway models register --run RUN --name NAME"))


def _row(model: Any) -> dict[str, Any]:
    data = model.to_dict()
    metric = next((k for k in ("AUC_weighted", "r2_score") if k in model.metrics), None)
    data["primary_score"] = model.metrics.get(metric) if metric else None
    data["dataset"] = f"{model.dataset}:{model.dataset_version}" if model.dataset else None
    return data


@app.command()
def versions(ctx: typer.Context, name: str, output: OutputOpt = Format.table) -> None:
    """Every version of a model."""
    rows = [_row(m) for m in workspace(ctx).models.versions(name)]
    emit(rows, output, lambda: print_table(rows, ["model", "algorithm", "primary_score",
                                                  "created_at"]))


@app.command()
def show(ctx: typer.Context, model: Annotated[str, typer.Argument(help="NAME[:VERSION]")],
         output: OutputOpt = Format.table) -> None:
    """Signature, metrics and lineage of a model version."""
    entity = workspace(ctx).models.get(model)
    data = entity.to_dict()

    def render() -> None:
        lineage = data["lineage"]
        console.print(f"[bold]{entity.ref}[/bold]  {entity.algorithm}  ({entity.task})")
        console.print(f"run {lineage['run_id']}  dataset {lineage['dataset']}:"
                      f"{lineage['dataset_version']}  sha256 {entity.sha256[:16]}")
        if entity.tags:
            console.print("tags " + ", ".join(f"{k}={v}" for k, v in entity.tags.items()))
        print_table([{"column": c["name"], "type": c["type"], "dtype": c["dtype"]}
                     for c in entity.signature["inputs"]], ["column", "type", "dtype"],
                    title="Inputs")
        print_table([{"metric": k, "value": v} for k, v in sorted(entity.metrics.items())],
                    ["metric", "value"], title="Metrics")

    emit(data, output, render)


@app.command()
def download(ctx: typer.Context, model: str,
             to: Annotated[Path, typer.Option("--to", help="an empty or new folder")]) -> None:
    """Copy a model directory (model.pkl, signature.json, metrics.json, requirements.txt)."""
    path = workspace(ctx).models.download(model, to)
    console.print(f"Downloaded {model} to {path}")


@app.command()
def export(ctx: typer.Context, model: str,
           to: Annotated[Path, typer.Option("--to", help="a new folder")],
           format: Annotated[str, typer.Option("--format", help="mlflow")] = "mlflow") -> None:
    """Export to another format (MLflow: `mlflow models serve -m <folder>` serves it)."""
    if format != "mlflow":
        raise InvalidInput(f"unknown export format {format!r}", hint="use --format mlflow")
    path = workspace(ctx).models.export_mlflow(model, to)
    console.print(f"Exported {model} in MLflow format to {path}")


@app.command()
def predict(
    ctx: typer.Context,
    input: Annotated[str, typer.Option("--input", "-i", help="CSV/Parquet file or URL")],
    output_file: Annotated[Path, typer.Option("--output-file", "-o", help="CSV to write")],
    run: Annotated[str | None, typer.Option("--run", help="a run (an AutoML run: its best model)")] = None,
    model: Annotated[str | None, typer.Option("--model", help="a registered NAME[:VERSION]")] = None,
    proba: Annotated[bool, typer.Option("--proba", help="add one probability column per class")] = False,
) -> None:
    """Score a file; writes the rows plus `prediction` (and `proba_<class>`)."""
    if (run is None) == (model is None):
        raise InvalidInput("give exactly one of --run and --model")
    ws = workspace(ctx)
    if run is not None:
        rows = ws.runs.predict_file(run, input, output_file, proba=proba)
    else:
        rows = ws.models.predict_file(model or "", input, output_file, proba=proba)
    console.print(f"Scored {rows:,} rows -> {output_file}")
