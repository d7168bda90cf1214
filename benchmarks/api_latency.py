"""Control-plane API latency: a real `slipway server` process vs the same app
in-process (httpx over ASGITransport), so the difference is the server's
overhead (sockets, HTTP parsing, uvicorn).

Two requests, sequential, keep-alive, after a warm-up:
- ``GET /api/v1/runs`` with 100 runs stored (a contributor's bearer token
  verified on every request, the identity looked up, 100 runs serialized);
- ``POST /oauth/token`` with client credentials (one argon2 verification at
  the production cost, a signed JWT).

    python benchmarks/api_latency.py [--runs-requests 500] [--token-requests 60]

Prints p50 and p99 in milliseconds for both and the ratio server / in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from slipway.api import create_app
from slipway.core.entities import RunStatus
from slipway.services import identities
from slipway.services.workspace import open_workspace
from slipway.settings import Settings


def seed(workspace: Path, runs: int) -> tuple[str, str]:
    """``runs`` completed AutoML runs and a contributor service principal."""
    ctx = open_workspace(Settings.from_env(workspace=workspace))
    try:
        for index in range(runs):
            run_id = f"AutoML_bench_{index:03d}"
            ctx.runs.create_run(run_id, experiment="bench", kind="automl",
                                status=RunStatus.COMPLETED, display_name=f"run {index}",
                                settings={"dataset": "bankmarketing", "dataset_version": 1,
                                          "automl": {"task": "classification", "target": "y"}})
            ctx.runs.update_run(run_id, score=0.9, metrics={"AUC_weighted": 0.9,
                                                            "accuracy": 0.88},
                                properties={"primary_metric": "AUC_weighted",
                                            "best_score": 0.9, "num_trials": 12})
        issued = identities.create_service_principal(ctx, "bench-bot", "contributor")
        assert issued.identity.client_id is not None and issued.secret is not None
        return issued.identity.client_id, issued.secret
    finally:
        ctx.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def measure(call: Callable[[], Awaitable[httpx.Response]], n: int,
                  warmup: int) -> list[float]:
    for _ in range(warmup):
        (await call()).raise_for_status()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = await call()
        out.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return out


async def run_pair(client: httpx.AsyncClient, form: dict[str, str], args: Any) -> dict[str, Any]:
    token = (await client.post("/oauth/token", data=form)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = (await client.get("/api/v1/runs", headers=headers)).json()["items"]
    assert len(listed) == 100, len(listed)
    runs = await measure(lambda: client.get("/api/v1/runs", headers=headers),
                         args.runs_requests, 20)
    tokens = await measure(lambda: client.post("/oauth/token", data=form),
                           args.token_requests, 3)
    return {"GET /api/v1/runs": runs, "POST /oauth/token": tokens}


def start_server(workspace: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "slipway", "server", "--workspace", str(workspace),
         "--port", str(port), "--no-start-endpoints", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


async def main_async(args: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="slipway-api-bench-") as tmp:
        workspace = Path(tmp) / "ws"
        client_id, secret = seed(workspace, 100)
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret}
        proc, url = start_server(workspace)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                served = await run_pair(client, form, args)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        app = create_app(Settings.from_env(workspace=workspace))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                local = await run_pair(client, form, args)
        finally:
            app.state.slipway.close()
    report(served, local, args)


def report(served: dict[str, list[float]], local: dict[str, list[float]], args: Any) -> None:
    print(f"Slipway control-plane API latency, sequential, keep-alive, {os.cpu_count()} CPUs "
          f"(runs x{args.runs_requests}, token x{args.token_requests})")
    print(f"{'request':<20} {'server p50':>11} {'p99':>8} {'in-proc p50':>12} {'p99':>8} "
          f"{'ratio p50':>10} {'p99':>6}")
    for name in served:
        s50, s99 = percentiles(served[name])
        l50, l99 = percentiles(local[name])
        print(f"{name:<20} {s50:>9.2f}ms {s99:>6.2f}ms {l50:>10.2f}ms {l99:>6.2f}ms "
              f"{s50 / l50:>9.2f}x {s99 / l99:>5.2f}x")
    print("ratio = real `slipway server` (uvicorn, loopback TCP) / the same app over "
          "httpx.ASGITransport; the difference is the server's overhead.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-requests", type=int, default=500)
    parser.add_argument("--token-requests", type=int, default=60)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
