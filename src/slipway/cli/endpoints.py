"""`slipway deploy` and `slipway endpoints ...`: real-time scoring endpoints."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from slipway.cli.context import workspace
from slipway.cli.output import Format, OutputOpt, console, emit, err_console, print_json, print_table
from slipway.core.errors import InvalidInput

app = typer.Typer(help="Real-time endpoints: state, keys, logs, metrics, clients, load tests.",
                  no_args_is_help=True)


def _render(data: dict[str, Any]) -> None:
    color = {"Healthy": "green", "Failed": "red", "Unhealthy": "yellow"}.get(data["state"], "cyan")
    console.print(f"[bold]{data['name']}[/bold]  [{color}]{data['state']}[/{color}]  "
                  f"model {data['model']}  auth {data['auth_mode']}  workers {data['workers']}  "
                  f"monitoring {'on' if data['monitoring'] else 'off'}")
    console.print(f"scoring  {data['scoring_uri']}\nswagger  {data['swagger_uri']}\n"
                  f"docs     {data['docs_uri']}")
    if data.get("error"):
        err_console.print(f"[red]{data['error']}[/red]", highlight=False)


def deploy(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="registered model NAME[:VERSION]")],
    name: Annotated[str, typer.Option("--name", "-n", help="endpoint name")],
    auth: Annotated[str, typer.Option(help="key | token | none")] = "key",
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    monitoring: Annotated[str, typer.Option(help="on | off")] = "off",
    port: Annotated[int | None, typer.Option(help="default: a free port")] = None,
    host: Annotated[str | None, typer.Option(
        help="address to listen on (default 127.0.0.1; through a server, the server's --host)")
    ] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Deploy a registered model as an endpoint with its own process and port."""
    endpoint = workspace(ctx).endpoints.deploy(
        model, name, auth=auth, workers=workers, monitoring=_on_off(monitoring), port=port,
        host=host, wait=not no_wait)
    emit(endpoint.to_dict(), output, lambda: _render(endpoint.to_dict()))
    if endpoint.state == "Failed":
        raise typer.Exit(11)


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise InvalidInput(f"expected on or off, not {value!r}")
    return value == "on"


@app.command("list")
def list_(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """Endpoints and their state."""
    rows = [e.to_dict() for e in workspace(ctx).endpoints.list()]
    emit(rows, output, lambda: print_table(
        rows, ["name", "state", "model", "auth_mode", "monitoring", "workers", "scoring_uri"],
        empty="no endpoints: slipway deploy MODEL:VERSION --name NAME"))


@app.command()
def show(ctx: typer.Context, name: str, output: OutputOpt = Format.table) -> None:
    """State, scoring and swagger URIs, auth, monitoring and model of an endpoint."""
    data = workspace(ctx).endpoints.get(name).to_dict()
    emit(data, output, lambda: _render(data))


@app.command()
def keys(ctx: typer.Context, name: str, output: OutputOpt = Format.table) -> None:
    """The primary and secondary keys of a key-auth endpoint."""
    data = workspace(ctx).endpoints.get_keys(name)
    emit(data, output, lambda: console.print(
        f"primary_key    {data['primary_key']}\nsecondary_key  {data['secondary_key']}"))


@app.command("regen-key")
def regen_key(ctx: typer.Context, name: str,
              key: Annotated[str, typer.Option("--key", help="primary | secondary")],
              output: OutputOpt = Format.table) -> None:
    """Replace a key; the old one stops working at once."""
    data = workspace(ctx).endpoints.regen_key(name, key)
    emit(data, output, lambda: console.print(f"New {key} key: {data[f'{key}_key']}"))


@app.command()
def token(ctx: typer.Context, name: str, output: OutputOpt = Format.table) -> None:
    """A short-lived JWT for a token-auth endpoint, and its expiry."""
    data = workspace(ctx).endpoints.get_token(name)
    emit(data, output, lambda: console.print(
        f"{data['access_token']}\n[dim]expires {data['expires_at']}[/dim]"))


@app.command()
def score(ctx: typer.Context, name: str,
          file: Annotated[Path, typer.Option(
              "--file", "-f", "--input", "-i",
              help='rows to score: a CSV or Parquet file, or JSON {"data": [{...}, ...]}')]
          ) -> None:
    """Score the rows of a CSV, Parquet or JSON file; prints the endpoint's answer."""
    payload = _score_body(file)
    print_json(workspace(ctx).endpoints.score(name, payload))


@app.command()
def logs(ctx: typer.Context, name: str,
         tail: Annotated[int, typer.Option("--tail", "-n")] = 100,
         follow: Annotated[bool, typer.Option("--follow", "-f")] = False) -> None:
    """Request log lines (one JSON object per request)."""
    ws = workspace(ctx)
    records, offset = ws.endpoints.logs(name, tail=tail)
    for record in records:
        typer.echo(json.dumps(record))
    while follow:
        time.sleep(0.5)
        records, offset = ws.endpoints.logs_since(name, offset)
        for record in records:
            typer.echo(json.dumps(record))


@app.command()
def metrics(ctx: typer.Context, name: str,
            minutes: Annotated[int, typer.Option(help="how far back")] = 60,
            output: OutputOpt = Format.table) -> None:
    """Requests, failures and latency p50/p95/p99 per minute."""
    rows = workspace(ctx).endpoints.metrics(name, minutes=minutes)
    emit(rows, output, lambda: print_table(
        rows, ["minute", "requests", "failures", "rows", "p50_ms", "p95_ms", "p99_ms"],
        empty="no scoring requests recorded (is monitoring on?)"))


@app.command()
def update(ctx: typer.Context, name: str,
           monitoring: Annotated[str | None, typer.Option(help="on | off (no redeploy)")] = None,
           model: Annotated[str | None, typer.Option(help="NAME:VERSION (restarts)")] = None,
           workers: Annotated[int | None, typer.Option(help="worker processes (restarts)")] = None,
           output: OutputOpt = Format.table) -> None:
    """Change monitoring, the model or the number of workers."""
    endpoint = workspace(ctx).endpoints.update(
        name, monitoring=None if monitoring is None else _on_off(monitoring), model=model,
        workers=workers)
    emit(endpoint.to_dict(), output, lambda: _render(endpoint.to_dict()))


@app.command()
def consume(ctx: typer.Context, name: str,
            to: Annotated[Path, typer.Option("--to", help="folder for the files")] = Path(".")
            ) -> None:
    """Write endpoint.py, data.json and benchmark.sh that call this endpoint."""
    for path in workspace(ctx).endpoints.consume_files(name, to):
        console.print(f"wrote {path}")
    console.print(f"Try: cd {to} && python endpoint.py && ./benchmark.sh 1000 8")


@app.command()
def benchmark(ctx: typer.Context, name: str,
              n: Annotated[int, typer.Option("-n", help="requests")] = 1000,
              c: Annotated[int, typer.Option("-c", help="concurrency")] = 8,
              output: OutputOpt = Format.table) -> None:
    """Load-test with the example request; an Apache-Bench-like report."""
    data = workspace(ctx).endpoints.benchmark(name, requests=n, concurrency=c)

    def render() -> None:
        console.print(f"URI:                  {data['uri']}\n"
                      f"Concurrency level:    {data['concurrency']}\n"
                      f"Time taken:           {data['time_taken_s']} s\n"
                      f"Complete requests:    {data['requests']}\n"
                      f"Failed requests:      {data['failed']} {data['failures'] or ''}\n"
                      f"Requests per second:  {data['requests_per_s']} [#/sec] (mean)\n"
                      f"Time per request:     {data['mean_ms']} ms (mean)\n"
                      f"Percentiles (ms):     50% {data['p50_ms']}  90% {data['p90_ms']}  "
                      f"95% {data['p95_ms']}  99% {data['p99_ms']}  max {data['max_ms']}")

    emit(data, output, render)


@app.command()
def start(ctx: typer.Context, name: Annotated[str | None, typer.Argument()] = None,
          all_: Annotated[bool, typer.Option("--all", help="every endpoint that should run")] = False,
          output: OutputOpt = Format.table) -> None:
    """Start an endpoint's process again (after a reboot or `stop`)."""
    ws = workspace(ctx)
    if all_ == (name is not None):
        raise InvalidInput("give an endpoint name or --all")
    started = ws.endpoints.start_all() if all_ else [ws.endpoints.start(name or "")]
    rows = [e.to_dict() for e in started]
    emit(rows, output, lambda: print_table(rows, ["name", "state", "scoring_uri", "error"],
                                           empty="every endpoint is already running"))


@app.command()
def stop(ctx: typer.Context, name: str) -> None:
    """Stop an endpoint's process (it stays registered; `start` brings it back)."""
    workspace(ctx).endpoints.stop(name)
    console.print(f"Stopped {name}.")


@app.command()
def delete(ctx: typer.Context, name: str) -> None:
    """Stop an endpoint, free its port and forget it."""
    workspace(ctx).endpoints.delete(name)
    console.print(f"Deleted {name}.")


def _score_body(file: Path) -> Any:
    if not file.is_file():
        raise InvalidInput(f"{file} does not exist", hint="pass the file of rows to score")
    with file.open("rb") as fh:
        head = fh.read(64).lstrip()
    if head[:1] in (b"{", b"["):
        try:
            return json.loads(file.read_text())
        except ValueError as exc:
            raise InvalidInput(f"{file} is not JSON: {exc}",
                               hint='write {"data": [{"column": value, ...}]}') from exc
    from slipway.client.endpoints import request_body
    from slipway.data.read import read_table

    return request_body(read_table(file).to_pandas())
