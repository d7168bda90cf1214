"""Scoring latency and throughput: Slipway's server vs `mlflow models serve` vs a bare uvicorn app.

One run, same machine, same load for all three: the 2-record bank marketing
request, POSTed by Apache Bench (``ab``, keep-alive) at concurrency 1 and 8,
bounded in count and time, loopback only. Every server gets the same worker
count (``--workers``, default 2). Slipway runs with key auth and monitoring on.

    python benchmarks/serving_latency.py [--workers 2] [--requests 20000] [--seconds 10]

Needs: ``ab`` (Debian: apache2-utils), optionally ``wrk`` (Debian: wrk) for HTTP/1.1
keep-alive load, and mlflow in the same environment
(``pip install mlflow``); without mlflow the MLflow row is skipped and said so.
Prints req/s, p50 and p99 for each server and level, then the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BANK_CSV = ROOT.parent / "shared" / "data" / "bankmarketing" / "train.csv"
KEY = "benchmark-primary-key-0123456789"
_CONSTANT = b'{"result":["no","no"]}'


async def constant_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor: a bare ASGI app that reads the body and answers a constant."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(_CONSTANT)).encode())]})
    await send({"type": "http.response.body", "body": _CONSTANT})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_models(work: Path) -> tuple[Path, Path | None, list[dict[str, Any]]]:
    import pandas as pd
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from slipway.core.model_dir import infer_signature, save_model_dir

    frame = pd.read_csv(BANK_CSV)
    X, y = frame.drop(columns=["y"]), frame["y"]
    numeric = [c for c in X.columns if X[c].dtype.kind in "if"]
    categorical = [c for c in X.columns if c not in numeric]
    featurize = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numeric),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical)])
    pipe = Pipeline([("featurize", featurize),
                     ("model", LGBMClassifier(n_estimators=100, random_state=0, verbose=-1))])
    pipe.fit(X, y)
    sig = infer_signature(X, task="classification", target="y", column_types={},
                          classes=list(pipe.classes_))
    slipway_dir = save_model_dir(work / "slipway-model", pipe, sig)
    mlflow_dir: Path | None = work / "mlflow-model"
    try:
        import mlflow.sklearn

        mlflow.sklearn.save_model(pipe, str(mlflow_dir),
                                  serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE)
    except ImportError:
        mlflow_dir = None
    return slipway_dir, mlflow_dir, sig.example


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def post(url: str, body: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"content-type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def ab(url: str, body_file: Path, concurrency: int, requests: int, seconds: int,
       headers: dict[str, str], work: Path) -> dict[str, float]:
    csv = work / f"ab-{concurrency}.csv"
    cmd = ["ab", "-q", "-k", "-c", str(concurrency), "-t", str(seconds), "-n", str(requests),
           "-p", str(body_file), "-T", "application/json", "-e", str(csv)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr or out.stdout)
    stats: dict[str, float] = {}
    for line in out.stdout.splitlines():
        if line.startswith("Requests per second:"):
            stats["rps"] = float(line.split()[3])
        elif line.startswith("Complete requests:"):
            stats["n"] = float(line.split()[2])
        elif line.startswith(("Failed requests:", "Non-2xx responses:")):
            stats["failed"] = stats.get("failed", 0.0) + float(line.split()[-1])
    pct = {}
    for line in csv.read_text().splitlines()[1:]:
        p, ms = line.split(",")
        pct[int(p)] = float(ms)
    stats["p50"], stats["p99"] = pct[50], pct[99]
    return stats


def wrk(url: str, body: bytes, concurrency: int, seconds: int, headers: dict[str, str],
        work: Path) -> dict[str, float]:
    """HTTP/1.1 keep-alive load (what real clients do; uvicorn does not keep HTTP/1.0
    connections alive, so under ab every request also pays a TCP connect)."""
    script = work / f"wrk-{concurrency}.lua"
    body_file = work / "wrk-body.json"
    body_file.write_bytes(body)
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines += [f'local f = io.open("{body_file}", "rb")', "wrk.body = f:read(\"*a\")",
              "f:close()"]
    script.write_text("\n".join(lines) + "\n")
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script),
           url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr or out.stdout)
    stats: dict[str, float] = {"failed": 0.0}
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for line in out.stdout.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            stats["rps"] = float(parts[1])
        elif "requests in" in line:
            stats["n"] = float(parts[0])
        elif line.strip().startswith("Non-2xx"):
            stats["failed"] += float(parts[-1])
        elif parts and parts[0] in ("50%", "99%"):
            value = parts[1]
            unit = next(u for u in ("us", "ms", "s") if value.endswith(u))
            stats["p" + parts[0][:2]] = float(value[: -len(unit)]) * units[unit]
    return stats


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with_kill = proc.poll() is None
        if with_kill:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_server(name: str, proc: subprocess.Popen[bytes], ready_url: str, score_url: str,
               body: bytes, headers: dict[str, str], args: argparse.Namespace,
               work: Path) -> dict[str, Any]:
    try:
        wait_http(ready_url, proc)
        answer = post(score_url, body, headers)
        body_file = work / f"{name}.json"
        body_file.write_bytes(body)
        ab(score_url, body_file, 8, 500, 5, headers, work)  # warm-up
        result: dict[str, Any] = {"answer": answer}
        for c, n in ((1, args.requests // 4), (8, args.requests)):
            limit = n if name != "mlflow" else min(n, args.mlflow_requests)
            result[("ab", c)] = ab(score_url, body_file, c, limit, args.seconds, headers, work)
        if shutil.which("wrk") is not None:
            for c in (1, 8):
                result[("wrk", c)] = wrk(score_url, body, c, args.seconds, headers, work)
        return result
    finally:
        stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--mlflow-requests", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("ab") is None:
        print("ab not found: apt-get install -y apache2-utils", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="slipway-bench-"))
    print(f"building the bank LightGBM pipeline in {work} ...", flush=True)
    slipway_dir, mlflow_dir, example = build_models(work)
    body = json.dumps({"data": example}).encode()
    results: dict[str, dict[str, Any]] = {}
    py = sys.executable

    port = free_port()
    proc = start([py, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent),
                  "serving_latency:constant_app", "--host", "127.0.0.1", "--port", str(port),
                  "--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools",
                  "--no-access-log", "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    print("bare uvicorn ...", flush=True)
    results["bare uvicorn"] = run_server("bare", proc, url + "/", url + "/score", body, {}, args,
                                         work)

    from slipway.serving.config import EndpointConfig, write_endpoint_config, write_keys

    config_dir = work / "endpoint"
    write_endpoint_config(config_dir, EndpointConfig(name="bank", auth="key", monitoring=True))
    write_keys(config_dir, primary=KEY)
    port = free_port()
    proc = start([py, "-m", "slipway.serving", "--model-dir", str(slipway_dir), "--config-dir",
                  str(config_dir), "--host", "127.0.0.1", "--port", str(port), "--workers",
                  str(args.workers)])
    url = f"http://127.0.0.1:{port}"
    print("slipway ...", flush=True)
    results["slipway"] = run_server("slipway", proc, url + "/v2/health/ready", url + "/score",
                                    body, {"Authorization": f"Bearer {KEY}"}, args, work)

    if mlflow_dir is not None:
        port = free_port()
        proc = start([py, "-m", "mlflow", "models", "serve", "-m", str(mlflow_dir),
                      "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
                      "-w", str(args.workers)],
                     env={"PATH": f"{Path(py).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
        url = f"http://127.0.0.1:{port}"
        print("mlflow models serve ...", flush=True)
        mlflow_body = json.dumps({"dataframe_records": example}).encode()
        results["mlflow"] = run_server("mlflow", proc, url + "/ping", url + "/invocations",
                                       mlflow_body, {}, args, work)
    else:
        print("mlflow is not installed: the MLflow row is skipped (pip install mlflow)")

    report(results, args)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n2-record request, {args.workers} workers each, loopback; "
          "ab = HTTP/1.0 (a new connection per request under uvicorn), "
          "wrk = HTTP/1.1 keep-alive")
    print(f"{'server':<14}{'load':>5}{'c':>3}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'n':>9}"
          f"{'failed':>8}")
    tools = [t for t in ("ab", "wrk") if (t == "ab" or ("wrk", 8) in results["slipway"])]
    for tool in tools:
        for name, result in results.items():
            for c in (1, 8):
                s = result.get((tool, c))
                if s is None:
                    continue
                print(f"{name:<14}{tool:>5}{c:>3}{s['rps']:>11.1f}{s['p50']:>9.3f}"
                      f"{s['p99']:>9.3f}{int(s.get('n', 0)):>9}{int(s.get('failed', 0)):>8}")
    sw = results["slipway"]
    print(f"\nslipway answer: {sw['answer']}")
    if "mlflow" in results:
        print(f"mlflow answer:  {results['mlflow']['answer']}")
    for tool in tools:
        print(f"\n[{tool}]")
        if "mlflow" in results and (tool, 8) in results["mlflow"]:
            ml = results["mlflow"]
            print(f"  slipway / mlflow req/s at c=8: "
                  f"{sw[(tool, 8)]['rps'] / ml[(tool, 8)]['rps']:.1f}x (goal >= 30x)")
            print(f"  mlflow p50 / slipway p50 at c=1: "
                  f"{ml[(tool, 1)]['p50'] / sw[(tool, 1)]['p50']:.1f}x")
        bare = results["bare uvicorn"]
        print(f"  slipway / bare uvicorn req/s at c=8: "
              f"{sw[(tool, 8)]['rps'] / bare[(tool, 8)]['rps']:.2f} (goal >= 0.6)")
        print(f"  slipway p50 at c=1: {sw[(tool, 1)]['p50']:.3f} ms (goal < 1 ms)")


if __name__ == "__main__":
    sys.exit(main())
