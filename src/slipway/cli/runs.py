"""`slipway runs ...`: follow, inspect and cancel runs."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from slipway.cli.context import workspace
from slipway.cli.output import Format, OutputOpt, console, emit, err_console, print_table

app = typer.Typer(help="Inspect, follow and cancel runs.", no_args_is_help=True)

BOARD = ["run_id", "algorithm", "score", "duration_s", "status", "predict_latency_ms"]


def _board_table(run: Any, rows: list[dict[str, Any]], limit: int = 15) -> Table:
    metric = run.properties.get("primary_metric") or run.settings.get("automl", {}).get(
        "primary_metric", "score")
    title = f"{run.id}  {run.status}  {run.duration_s or 0:.0f}s  ({len(rows)} trials)"
    table = Table(title=title, header_style="bold")
    for column in ("#", "algorithm", metric, "seconds", "status", "2-row ms"):
        table.add_column(column)
    for index, row in enumerate(rows[:limit], 1):
        score = row["score"]
        latency = row.get("predict_latency_ms")
        table.add_row(str(index), row["algorithm"] or "", "" if score is None else f"{score:.4f}",
                      "" if row["duration_s"] is None else f"{row['duration_s']:.1f}",
                      row["status"], "" if latency is None else f"{latency:.2f}")
    return table


def watch(ws: Any, run_id: str, *, live: bool = True) -> Any:
    """Follow a run to its end. Ctrl-C asks it to cancel (keeping the best
    model so far) and waits; a second Ctrl-C stops waiting."""
    canceling = False
    view: Live | _Null = Live(console=console, refresh_per_second=2) if live else _Null()
    with view:
        while True:
            try:
                run = ws.runs.get(run_id)
                if live:
                    view.update(_board_table(run, ws.runs.leaderboard(run_id)))
                if run.is_terminal:
                    return run
                time.sleep(1.0)
            except KeyboardInterrupt:
                if canceling:
                    err_console.print(f"Stopped waiting; the run goes on canceling. "
                                      f"`slipway runs show {run_id}` follows it.")
                    raise typer.Exit(130) from None
                canceling = True
                err_console.print("Canceling: no new trials; the best model so far is kept. "
                                  "Ctrl-C again to stop waiting.")
                ws.runs.cancel(run_id)


class _Null:
    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, *_: object) -> None:
        return None


def render_run_summary(ws: Any, run_id: str) -> None:
    run = ws.runs.get(run_id)
    props = run.properties
    console.print(f"[bold]{run.id}[/bold]  {run.status}  experiment {run.experiment}  "
                  f"{run.duration_s or 0:.1f}s")
    if run.error:
        console.print(f"[red]{run.error}[/red]")
    if props.get("best_child_run_id"):
        console.print(f"best: {props['best_algorithm']}  {props['primary_metric']} "
                      f"{props['best_score']:.4f}  ({props['best_child_run_id']})")
    guardrails = props.get("guardrails") or {}
    rows = guardrails.get("guardrails", []) if isinstance(guardrails, dict) else guardrails
    if rows:
        print_table([{"guardrail": g["name"], "status": g["status"], "message": g["message"]}
                     for g in rows], ["guardrail", "status", "message"], title="Data guardrails")


@app.command("list")
def list_(ctx: typer.Context,
          experiment: Annotated[str | None, typer.Option("--experiment", "-e")] = None,
          limit: Annotated[int, typer.Option()] = 50, output: OutputOpt = Format.table) -> None:
    """Top-level runs, newest first."""
    rows = []
    for run in workspace(ctx).runs.list(experiment=experiment, limit=limit):
        rows.append({"run_id": run.id, "experiment": run.experiment, "status": run.status,
                     "best_score": run.properties.get("best_score"),
                     "primary_metric": run.properties.get("primary_metric"),
                     "duration_s": run.duration_s, "created_at": run.created_at.isoformat()})
    emit(rows, output, lambda: print_table(
        rows, ["run_id", "experiment", "status", "primary_metric", "best_score", "duration_s",
               "created_at"], empty="no runs yet: slipway automl run --dataset NAME --target COL"))


@app.command()
def show(ctx: typer.Context, run_id: str, output: OutputOpt = Format.table) -> None:
    """Status, guardrails, best child and duration of a run."""
    ws = workspace(ctx)
    run = ws.runs.get(run_id)
    emit(run.to_dict(), output, lambda: render_run_summary(ws, run_id))


@app.command()
def leaderboard(ctx: typer.Context, run_id: str, output: OutputOpt = Format.table) -> None:
    """Child runs sorted by the primary metric, best first."""
    ws = workspace(ctx)
    rows = ws.runs.leaderboard(run_id)
    emit(rows, output, lambda: console.print(_board_table(ws.runs.get(run_id), rows, limit=1000)))


@app.command()
def metrics(ctx: typer.Context, run_id: str, output: OutputOpt = Format.table) -> None:
    """Every metric of a run, and where its chart data is."""
    ws = workspace(ctx)
    run = ws.runs.get(run_id)
    charts_path, charts = ws.runs.charts(run_id)
    data = {"run_id": run.id, "algorithm": run.display_name, "metrics": run.metrics,
            "charts_file": charts_path, "charts": sorted(charts)}

    def render() -> None:
        print_table([{"metric": k, "value": v} for k, v in sorted(run.metrics.items())],
                    ["metric", "value"], title=f"{run.id} {run.display_name}")
        if charts_path:
            console.print(f"chart data ({', '.join(sorted(charts))}): {charts_path}")

    emit(data, output, render)


@app.command()
def explain(ctx: typer.Context, run_id: str, output: OutputOpt = Format.table) -> None:
    """Importance of each raw input column for the best model."""
    run = workspace(ctx).runs.get(run_id)
    rows = run.properties.get("explanation") or []
    emit(rows, output, lambda: print_table(
        rows, ["column", "importance", "std"],
        title=f"Permutation importance ({run.properties.get('primary_metric')}) of "
              f"{run.properties.get('best_algorithm')}",
        empty="no explanation (the run has no completed model)"))


@app.command()
def cancel(ctx: typer.Context, run_id: str) -> None:
    """Cancel a queued or running run (a running AutoML run keeps its best model so far)."""
    run = workspace(ctx).runs.cancel(run_id)
    console.print(f"{run.id}: {run.status}{' (cancel requested)' if not run.is_terminal else ''}")


@app.command()
def logs(ctx: typer.Context, run_id: str,
         tail: Annotated[int | None, typer.Option("--tail", "-n")] = None) -> None:
    """The log of a run's worker."""
    typer.echo(workspace(ctx).runs.logs(run_id, tail=tail), nl=False)
