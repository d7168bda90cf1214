"""`slipway quickstart`: the whole path on built-in sample data, in a few minutes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.context import workspace
from slipway.cli.output import console


def quickstart(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option(help="rows of synthetic bank-marketing data")] = 5000,
    timeout: Annotated[str, typer.Option(help="AutoML budget")] = "60s",
    endpoint: Annotated[str, typer.Option("--endpoint", help="endpoint name")] = "bank-endpoint",
    requests: Annotated[int, typer.Option(help="requests in the closing benchmark")] = 500,
) -> None:
    """Sample data -> AutoML -> registered model -> key-auth endpoint -> scores -> benchmark."""
    from slipway.automl import AutoMLSettings
    from slipway.cli.runs import watch
    from slipway.core.durations import parse_duration
    from slipway.samples import write_bank_marketing_csv

    ws = workspace(ctx)
    console.rule("1. Data")
    with tempfile.TemporaryDirectory() as tmp:
        csv = write_bank_marketing_csv(Path(tmp) / "bankmarketing.csv", n_rows=rows, seed=0)
        dataset = ws.datasets.register("bankmarketing-sample", csv,
                                       "synthetic bank-marketing sample (slipway quickstart)")
    console.print(f"dataset {dataset.name}:{dataset.version}  {dataset.num_rows:,} rows x "
                  f"{dataset.num_columns} columns  (`slipway datasets show {dataset.name}`)")

    console.rule("2. Automated ML")
    settings = AutoMLSettings(task="classification", target="y", primary_metric="AUC_weighted",
                              timeout_s=parse_duration(timeout), concurrency=2,
                              exclude_columns=("duration",))
    console.print("target y, metric AUC_weighted, `duration` excluded (known only after the call)")
    run = ws.experiments.submit_settings("quickstart", dataset.name, settings,
                                         dataset_version=dataset.version)
    final = watch(ws, run.id)
    if final.status not in ("Completed", "Canceled") or not final.properties.get("best_child_run_id"):
        console.print(f"[red]AutoML run {final.id} ended {final.status}: {final.error}[/red]")
        raise typer.Exit(9)

    console.rule("3. Register the best model")
    model = ws.models.register(final.id, "bank-model",
                               description="best model of slipway quickstart")
    console.print(f"model {model.ref}: {model.algorithm}, AUC_weighted "
                  f"{final.properties['best_score']:.4f}")

    console.rule("4. Deploy")
    existing = {e.name for e in ws.endpoints.list()}
    if endpoint in existing:
        deployed = ws.endpoints.update(endpoint, model=model.ref)
    else:
        deployed = ws.endpoints.deploy(model.ref, endpoint, auth="key", workers=1,
                                       monitoring=True)
    if deployed.state != "Healthy":
        console.print(f"[red]endpoint {endpoint} is {deployed.state}: {deployed.error}[/red]")
        raise typer.Exit(11)
    console.print(f"scoring {deployed.scoring_uri}\nswagger {deployed.swagger_uri}\n"
                  f"docs    {deployed.base_uri}/docs")

    console.rule("5. Score two records")
    example = {"data": model.signature["example"]}
    console.print(json.dumps(ws.endpoints.score(endpoint, example)))

    console.rule(f"6. Benchmark ({requests} requests, 8 at a time)")
    report = ws.endpoints.benchmark(endpoint, requests=requests, concurrency=min(8, requests))
    console.print(f"{report['requests_per_s']} requests/s, p50 {report['p50_ms']} ms, "
                  f"p99 {report['p99_ms']} ms, {report['failed']} failed")

    console.rule("Next")
    console.print(f"slipway endpoints keys {endpoint}        # the key for your own clients\n"
                  f"slipway endpoints consume {endpoint} --to ./client\n"
                  f"slipway endpoints logs {endpoint} --tail 20\n"
                  f"Stop the endpoint with: slipway endpoints delete {endpoint}  "
                  f"(or `slipway endpoints stop {endpoint}` to keep it for later)")
