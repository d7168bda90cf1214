"""`slipway automl run`: a time-boxed AutoML search over a registered dataset."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from slipway.cli.context import workspace
from slipway.cli.output import Format, OutputOpt, console, err_console, print_json
from slipway.cli.runs import render_run_summary, watch

app = typer.Typer(help="Automated ML: search learners and hyper-parameters for the best model.",
                  no_args_is_help=True)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@app.command()
def run(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="registered dataset name")],
    target: Annotated[str, typer.Option("--target", "-t", help="column to predict")],
    task: Annotated[str, typer.Option(help="classification | regression")] = "classification",
    metric: Annotated[str | None, typer.Option(
        "--metric", help="primary metric (default AUC_weighted / r2_score)")] = None,
    timeout: Annotated[str, typer.Option(help="budget for the whole run: 90s, 5m, 1h")] = "5m",
    concurrency: Annotated[int, typer.Option(help="trials at once")] = 2,
    experiment: Annotated[str, typer.Option("--experiment", "-e")] = "default",
    dataset_version: Annotated[int | None, typer.Option("--dataset-version")] = None,
    iterations: Annotated[int | None, typer.Option(help="cap on search trials")] = None,
    cv: Annotated[int | None, typer.Option("--cv", help="cross-validation folds")] = None,
    validation_size: Annotated[float | None, typer.Option(help="holdout fraction")] = None,
    allowed: Annotated[list[str] | None, typer.Option(
        "--allowed-learners", help="e.g. LightGBM,XGBoost")] = None,
    blocked: Annotated[list[str] | None, typer.Option("--blocked-learners")] = None,
    exclude: Annotated[list[str] | None, typer.Option(
        "--exclude-columns", help="e.g. duration (it leaks the outcome)")] = None,
    no_ensembles: Annotated[bool, typer.Option("--no-ensembles")] = False,
    class_weight: Annotated[str, typer.Option(help="auto | balanced | none")] = "auto",
    featurization: Annotated[str, typer.Option(help="auto | off")] = "auto",
    seed: Annotated[int, typer.Option()] = 0,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="print the run id and return")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Start an AutoML run and follow it live (Ctrl-C cancels and keeps the best so far)."""
    from slipway.automl import AutoMLSettings
    from slipway.core.durations import parse_duration

    settings = AutoMLSettings(
        task=task, target=target, primary_metric=metric, timeout_s=parse_duration(timeout),
        iterations=iterations, concurrency=concurrency, cv_folds=cv,
        validation_size=validation_size, allowed_learners=_split(allowed),
        blocked_learners=_split(blocked), exclude_columns=tuple(_split(exclude) or ()),
        ensembles=not no_ensembles, class_weight=class_weight, seed=seed,
        featurization=featurization)
    ws = workspace(ctx)
    submitted = ws.experiments.submit_settings(experiment, dataset, settings,
                                               dataset_version=dataset_version)
    if no_wait:
        if output == Format.json:
            print_json({"run_id": submitted.id, "status": submitted.status})
        else:
            console.print(submitted.id)
        return
    if output != Format.json:
        console.print(f"Run [bold]{submitted.id}[/bold] in experiment {experiment}: "
                      f"{settings.task}, {settings.primary_metric}, budget {timeout}")
    final = watch(ws, submitted.id, live=output != Format.json)
    result = _summary(ws, final.id)
    if output == Format.json:
        print_json(result)
    else:
        render_run_summary(ws, final.id)
    if final.status == "Failed":
        err_console.print(f"[red]Run failed:[/red] {final.error}")
        raise typer.Exit(9)


def _summary(ws: Any, run_id: str) -> dict[str, Any]:
    run = ws.runs.get(run_id)
    props = run.properties
    return {
        "run_id": run.id, "status": run.status, "experiment": run.experiment,
        "primary_metric": props.get("primary_metric"),
        "best_child_run_id": props.get("best_child_run_id"),
        "best_score": props.get("best_score"), "best_algorithm": props.get("best_algorithm"),
        "duration_s": run.duration_s, "error": run.error,
        "leaderboard": ws.runs.leaderboard(run_id),
    }
