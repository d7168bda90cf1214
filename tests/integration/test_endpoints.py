"""Endpoints as real processes on real ports, driven through the CLI, the SDK
and plain HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slipway_cli import bank_pipeline, slipway, slipway_json

from slipway.core.entities import RunStatus
from slipway.core.model_dir import infer_signature, save_model_dir


@pytest.fixture(scope="module")
def deployed(module_ws: Path, bank_csv: Path) -> Iterator[dict[str, Any]]:
    """bank-model:1 registered from a completed run, deployed with key auth."""
    from slipway import Workspace

    pipe, frame = bank_pipeline(bank_csv)
    X = frame.drop(columns=["y"])
    with Workspace(module_ws) as ws:
        ctx = ws._ctx
        ws.datasets.register("bank", bank_csv)
        types = {c["name"]: c["type"] for c in ws.datasets.get("bank").columns}
        sig = infer_signature(X, task="classification", target="y", column_types=types,
                              classes=list(pipe.classes_))
        with ctx.artifacts.staging_dir() as staged:
            save_model_dir(staged / "m", pipe, sig, {"AUC_weighted": 0.93})
            stored = ctx.artifacts.commit_dir(staged / "m")
        ctx.runs.create_run("AutoML_it", experiment="it", kind="automl",
                            status=RunStatus.COMPLETED, display_name="LightGBM",
                            settings={"dataset": "bank", "dataset_version": 1})
        ctx.runs.update_run("AutoML_it", model_artifact=stored.key, model_sha256=stored.sha256)
    slipway(module_ws, "models", "register", "--run", "AutoML_it", "--name", "bank-model")
    endpoint = slipway_json(module_ws, "deploy", "bank-model:1", "--name", "bank-endpoint",
                            "--auth", "key", "--workers", "2", "--monitoring", "on")
    keys = slipway_json(module_ws, "endpoints", "keys", "bank-endpoint")
    yield {"endpoint": endpoint, "keys": keys, "example": sig.example, "frame": frame}
    slipway(module_ws, "endpoints", "delete", "bank-endpoint", check=False)


def _post(uri: str, body: Any, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(uri, content=content, headers={**headers,
                      "Content-Type": "application/json"}, timeout=30)


def test_deploy_reports_healthy_with_uris(deployed: dict[str, Any]) -> None:
    endpoint = deployed["endpoint"]
    assert {"name", "state", "scoring_uri", "swagger_uri", "auth_mode", "model",
            "monitoring"} <= set(endpoint)
    assert (endpoint["state"], endpoint["auth_mode"], endpoint["model"], endpoint["monitoring"]) \
        == ("Healthy", "key", "bank-model:1", True)
    assert httpx.get(endpoint["scoring_uri"].rsplit("/", 1)[0] + "/", timeout=10).status_code == 200


def test_scoring_matches_the_pipeline(deployed: dict[str, Any], module_ws: Path) -> None:
    from slipway import Workspace

    X = deployed["frame"].head(200).drop(columns=["y"])
    records = json.loads(X.to_json(orient="records"))
    response = _post(deployed["endpoint"]["scoring_uri"], {"data": records},
                     deployed["keys"]["primary_key"])
    assert response.status_code == 200, response.text
    assert "x-request-id" in response.headers
    with Workspace(module_ws) as ws:
        expected = ws.models.load("bank-model:1").predict(X)
    assert response.json()["result"] == list(expected)


def test_credentials(deployed: dict[str, Any], module_ws: Path) -> None:
    uri = deployed["endpoint"]["scoring_uri"]
    body = {"data": deployed["example"]}
    for key in (None, "wrong-key"):
        response = _post(uri, body, key)
        assert response.status_code == 401
        assert "www-authenticate" in response.headers
        assert response.json()["error"]["code"]
    assert _post(uri, body, deployed["keys"]["secondary_key"]).status_code == 200
    old = deployed["keys"]["primary_key"]
    new = slipway_json(module_ws, "endpoints", "regen-key", "bank-endpoint", "--key", "primary")
    assert new["primary_key"] != old
    # Invalidated at once, in every worker: try enough times to reach both.
    assert all(_post(uri, body, old).status_code == 401 for _ in range(6))
    assert all(_post(uri, body, new["primary_key"]).status_code == 200 for _ in range(6))
    deployed["keys"] = new


def test_bad_requests_get_one_error_shape(deployed: dict[str, Any]) -> None:
    uri, key = deployed["endpoint"]["scoring_uri"], deployed["keys"]["secondary_key"]
    row = dict(deployed["example"][0])
    cases: list[tuple[Any, int]] = [
        (b"{not json", 400), (b"[1, 2]", 400), ({"rows": []}, 400), ({"data": []}, 400),
        ({"data": [{k: v for k, v in row.items() if k != "age"}]}, 400),
        ({"data": [{**row, "age": "old"}]}, 400),
    ]
    for body, status in cases:
        response = _post(uri, body, key)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert set(error) >= {"code", "message"}
    missing = _post(uri, {"data": [{k: v for k, v in row.items() if k != "age"}]}, key)
    assert "age" in missing.json()["error"]["message"]
    unseen = _post(uri, {"data": [{**row, "job": "astronaut", "extra": 1}]}, key)
    assert unseen.status_code == 200 and len(unseen.json()["result"]) == 1


def test_probabilities(deployed: dict[str, Any]) -> None:
    body = {"Inputs": {"data": deployed["example"]}, "GlobalParameters": {"method": "predict_proba"}}
    response = _post(deployed["endpoint"]["scoring_uri"], body, deployed["keys"]["secondary_key"])
    assert response.status_code == 200, response.text
    results = response.json()["Results"]
    assert len(results) == len(deployed["example"])


def test_swagger_and_offline_docs(deployed: dict[str, Any]) -> None:
    swagger = httpx.get(deployed["endpoint"]["swagger_uri"], timeout=10)
    assert swagger.status_code == 200
    text = swagger.text
    assert "euribor3m" in text and "securitySchemes" in text
    assert swagger.json()["info"]["description"].startswith("Scores bank-model:1 (classification)")
    base = deployed["endpoint"]["scoring_uri"].rsplit("/", 1)[0]
    docs = httpx.get(f"{base}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "cdn" not in docs.text.lower() and "unpkg" not in docs.text.lower()


def test_logs_metrics_and_no_key_in_logs(deployed: dict[str, Any], module_ws: Path) -> None:
    _post(deployed["endpoint"]["scoring_uri"], {"data": deployed["example"]},
          deployed["keys"]["secondary_key"])
    time.sleep(0.5)
    lines = slipway(module_ws, "endpoints", "logs", "bank-endpoint", "--tail", "5").stdout
    records = [json.loads(line) for line in lines.splitlines()]
    assert records and {"request_id", "status", "latency_ms", "rows"} <= set(records[-1])
    log_dir = module_ws / "endpoints" / "bank-endpoint" / "logs"
    everything = "".join(p.read_text(errors="replace") for p in log_dir.glob("*") if p.is_file())
    for key in deployed["keys"].values():
        assert key not in everything
    minutes = slipway_json(module_ws, "endpoints", "metrics", "bank-endpoint")
    assert minutes and minutes[-1]["requests"] >= 1 and "p99_ms" in minutes[-1]


def test_monitoring_toggle_does_not_redeploy(deployed: dict[str, Any], module_ws: Path) -> None:
    before = slipway_json(module_ws, "endpoints", "show", "bank-endpoint")
    after = slipway_json(module_ws, "endpoints", "update", "bank-endpoint", "--monitoring", "off")
    assert after["monitoring"] is False and after["pid"] == before["pid"]
    slipway(module_ws, "endpoints", "update", "bank-endpoint", "--monitoring", "on")


def test_generated_clients_work_unchanged(deployed: dict[str, Any], module_ws: Path,
                                          tmp_path: Path) -> None:
    slipway(module_ws, "endpoints", "consume", "bank-endpoint", "--to", str(tmp_path))
    assert {p.name for p in tmp_path.iterdir()} >= {"endpoint.py", "data.json", "benchmark.sh"}
    proc = subprocess.run([sys.executable, "endpoint.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["result"]) == 2
    if shutil.which("ab") is None:
        pytest.fail("Apache Bench (ab) is not installed: apt-get install apache2-utils")
    bench = subprocess.run(["bash", "benchmark.sh", "200", "4"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert bench.returncode == 0, bench.stderr
    assert "Failed requests:        0" in bench.stdout and "Non-2xx" not in bench.stdout


def test_cli_score_and_benchmark(deployed: dict[str, Any], module_ws: Path, tmp_path: Path) -> None:
    from slipway import Workspace

    data = tmp_path / "data.json"
    data.write_text(json.dumps({"data": deployed["example"]}))
    scored = json.loads(slipway(module_ws, "endpoints", "score", "bank-endpoint",
                                "--file", str(data)).stdout)
    assert len(scored["result"]) == 2
    # A CSV or Parquet file of rows (the label column along, as in the training file).
    rows = deployed["frame"].head(30)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    rows.to_parquet(tmp_path / "rows.parquet")
    with Workspace(module_ws) as ws:
        expected = list(ws.models.load("bank-model:1").predict(rows.drop(columns=["y"])))
        assert ws.endpoints.service("bank-endpoint").run(rows.drop(columns=["y"]))["result"] \
            == expected
    for name in ("rows.csv", "rows.parquet"):
        answer = slipway(module_ws, "endpoints", "score", "bank-endpoint", "-i",
                         str(tmp_path / name))
        assert json.loads(answer.stdout)["result"] == expected
    missing = slipway(module_ws, "endpoints", "score", "bank-endpoint", "-i",
                      str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    report = slipway_json(module_ws, "endpoints", "benchmark", "bank-endpoint", "-n", "200",
                          "-c", "4")
    assert report["requests"] == 200 and report["failed"] == 0 and report["requests_per_s"] > 0


def test_restart_after_the_process_dies(deployed: dict[str, Any], module_ws: Path) -> None:
    pid = slipway_json(module_ws, "endpoints", "show", "bank-endpoint")["pid"]
    os.killpg(pid, signal.SIGKILL)
    deadline = time.time() + 20
    while time.time() < deadline:
        state = slipway_json(module_ws, "endpoints", "show", "bank-endpoint")
        if state["state"] == "Failed":
            break
        time.sleep(0.3)
    assert state["state"] == "Failed" and state["error"]
    started = slipway_json(module_ws, "endpoints", "start", "--all")
    assert [e["state"] for e in started] == ["Healthy"]
    key = slipway_json(module_ws, "endpoints", "keys", "bank-endpoint")["primary_key"]
    assert _post(started[0]["scoring_uri"], {"data": deployed["example"]}, key).status_code == 200


def test_token_auth_endpoint_and_delete_frees_the_port(deployed: dict[str, Any],
                                                       module_ws: Path) -> None:
    endpoint = slipway_json(module_ws, "deploy", "bank-model:1", "--name", "tok", "--auth",
                            "token")
    assert endpoint["state"] == "Healthy"
    token = slipway_json(module_ws, "endpoints", "token", "tok")
    assert token["expires_on"] > time.time()
    body = {"data": deployed["example"]}
    assert _post(endpoint["scoring_uri"], body, token["access_token"]).status_code == 200
    assert _post(endpoint["scoring_uri"], body, token["access_token"][:-4] + "AAAA").status_code == 401
    # What people copy from the terminal: the token on one line, whole, however narrow.
    shown = slipway(module_ws, "endpoints", "token", "tok", env={"COLUMNS": "60"})
    printed = shown.stdout.splitlines()[0].strip()
    assert printed.count(".") == 2 and len(printed) > 60
    assert _post(endpoint["scoring_uri"], body, printed).status_code == 200
    refused = slipway(module_ws, "endpoints", "keys", "tok", check=False)
    assert refused.returncode == 2 and "token" in refused.stderr
    slipway(module_ws, "endpoints", "delete", "tok")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", endpoint["port"]))  # free again


def test_deploy_errors(deployed: dict[str, Any], module_ws: Path) -> None:
    taken = slipway(module_ws, "deploy", "bank-model:1", "--name", "bank-endpoint", check=False)
    assert taken.returncode == 4 and "already exists" in taken.stderr
    missing = slipway(module_ws, "deploy", "nope:1", "--name", "x", check=False)
    assert missing.returncode == 3 and "nope" in missing.stderr
    port = deployed["endpoint"]["port"]
    busy = slipway(module_ws, "deploy", "bank-model:1", "--name", "y", "--port", str(port),
                   check=False)
    assert busy.returncode == 2 and "in use" in busy.stderr
    assert [e["name"] for e in slipway_json(module_ws, "endpoints", "list")] == ["bank-endpoint"]
