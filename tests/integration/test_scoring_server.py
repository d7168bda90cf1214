"""The scoring server as a real process: 2 uvicorn workers on loopback, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from slipway.serving.config import (
    EndpointConfig,
    update_endpoint_config,
    write_endpoint_config,
    write_keys,
)
from slipway.serving.requestlog import read_log

BANK_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "bankmarketing" / "train.csv"
KEY = "integration-primary-key-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model_dir(root: Path) -> Path:
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from slipway.core.model_dir import infer_signature, save_model_dir

    if not BANK_CSV.is_file():
        pytest.fail(f"real data missing: bank marketing sample not found at {BANK_CSV}")
    frame = pd.read_csv(BANK_CSV).sample(4000, random_state=0)
    X, y = frame.drop(columns=["y"]), frame["y"]
    categorical = [c for c in X.columns if X[c].dtype.kind not in "if"]
    pipe = Pipeline([
        ("featurize", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"),
                                          categorical)], remainder="passthrough")),
        ("model", LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1))])
    pipe.fit(X, y)
    sig = infer_signature(X, task="classification", target="y", column_types={},
                          classes=list(pipe.classes_))
    return save_model_dir(root / "model", pipe, sig)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("endpoint")
    model_dir = _model_dir(root)
    config_dir, log_dir = root / "config", root / "logs"
    write_endpoint_config(config_dir, EndpointConfig(name="bank", auth="key", monitoring=True,
                                                     body_timeout_s=1.0))
    write_keys(config_dir, primary=KEY, secondary="integration-secondary-key")
    port = _free_port()
    stderr = open(root / "stderr.log", "wb")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "slipway.serving", "--model-dir", str(model_dir),
         "--config-dir", str(config_dir), "--log-dir", str(log_dir), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=stderr)
    ready = log_dir / "ready.json"
    deadline = time.monotonic() + 120
    while not ready.is_file():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            stderr.close()
            pytest.fail(f"server did not get ready: {(root / 'stderr.log').read_text()[-2000:]}")
        time.sleep(0.1)
    example = json.loads((model_dir / "signature.json").read_text())["example"]
    yield {"url": f"http://127.0.0.1:{port}", "port": port, "config_dir": config_dir,
           "log_dir": log_dir, "example": example, "proc": proc}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stderr.close()
    assert not ready.exists()


def _score(server: dict[str, Any], key: str = KEY, **kwargs: Any) -> httpx.Response:
    # a new connection each time, so requests spread over both workers
    return httpx.post(f"{server['url']}/score", json={"data": server["example"]},
                      headers={"authorization": f"Bearer {key}"}, timeout=30, **kwargs)


def test_ready_marker_lists_warmed_workers(server: dict[str, Any]) -> None:
    ready = json.loads((server["log_dir"] / "ready.json").read_text())
    assert len(ready["workers"]) == 2
    assert httpx.get(f"{server['url']}/v2/health/ready").status_code == 200


def test_scores_over_http_on_every_worker(server: dict[str, Any]) -> None:
    log_path = server["log_dir"] / "requests.jsonl"
    workers: set[int] = set()
    for i in range(200):  # new connections until both workers have answered
        rid = f"it-{i}"
        response = httpx.post(f"{server['url']}/score", json={"data": server["example"]},
                              headers={"authorization": f"Bearer {KEY}", "x-request-id": rid},
                              timeout=30)
        assert response.status_code == 200
        assert response.headers["x-request-id"] == rid
        assert set(response.json()["result"]) <= {"no", "yes"}
        workers |= {r["worker"] for r in read_log(log_path, tail=50) if r["request_id"] == rid}
        if len(workers) == 2 and i >= 10:
            break
    assert len(workers) == 2
    assert KEY not in log_path.read_text()


def test_key_regeneration_reaches_every_worker(server: dict[str, Any]) -> None:
    assert _score(server).status_code == 200
    write_keys(server["config_dir"], secondary="regenerated-secondary-key")
    for _ in range(10):
        response = _score(server, key="integration-secondary-key")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert _score(server, key="regenerated-secondary-key").status_code == 200


def test_metrics_aggregate_all_workers_and_follow_the_toggle(server: dict[str, Any]) -> None:
    auth = {"authorization": f"Bearer {KEY}"}
    for _ in range(10):
        _score(server)
    time.sleep(0.05)
    total = len([r for r in read_log(server["log_dir"] / "requests.jsonl", tail=None)
                 if r["path"] == "/score" and r["status"] == 200])
    line = f'slipway_requests_total{{endpoint="bank",route="score",status="200"}} {total}'
    for _ in range(4):  # whichever worker answers, the count covers both
        assert line in httpx.get(f"{server['url']}/metrics", headers=auth).text
    update_endpoint_config(server["config_dir"], monitoring=False)
    for _ in range(4):
        assert httpx.get(f"{server['url']}/metrics", headers=auth).status_code == 404
    update_endpoint_config(server["config_dir"], monitoring=True)


def test_slow_client_gets_408_and_does_not_block_others(server: dict[str, Any]) -> None:
    slow = socket.create_connection(("127.0.0.1", server["port"]))
    try:
        slow.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + KEY.encode() +
                     b"\r\nContent-Length: 1000\r\n\r\n{\"data\": [")
        for _ in range(5):  # others are served while the slow body trickles
            assert _score(server).status_code == 200
        slow.settimeout(30)
        answer = b""
        while b'"request_timeout"' not in answer:
            chunk = slow.recv(4096)
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408")
        assert b'"request_timeout"' in answer
    finally:
        slow.close()


def test_a_crashed_worker_is_replaced(server: dict[str, Any]) -> None:
    ready = json.loads((server["log_dir"] / "ready.json").read_text())
    victim = ready["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline:
        marks = {int(p.name) for p in (server["log_dir"] / ".workers").glob("*")
                 if p.name.isdigit()}
        workers = {pid for pid in marks if pid != victim and _alive(pid)}
        if len(workers) >= 2:
            break
        time.sleep(0.2)
    assert len(workers) == 2
    for _ in range(6):
        assert _score(server).status_code == 200


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_model_that_cannot_load_stops_the_server(tmp_path: Path) -> None:
    model_dir = tmp_path / "broken"
    model_dir.mkdir()
    (model_dir / "model.pkl").write_bytes(b"not a pickle")
    (model_dir / "signature.json").write_text('{"task": "classification", "target": "y", '
                                              '"inputs": []}')
    log_dir = tmp_path / "logs"
    done = subprocess.run(
        [sys.executable, "-m", "slipway.serving", "--model-dir", str(model_dir), "--config-dir",
         str(tmp_path / "config"), "--log-dir", str(log_dir), "--port", str(_free_port()),
         "--workers", "2"], capture_output=True, timeout=120)
    assert done.returncode == 3
    assert not (log_dir / "ready.json").exists()
    assert "cannot serve" in (log_dir / "server.log").read_text()
