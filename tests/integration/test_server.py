"""`slipway server` as a real process on a real port: first start prints the
owner's one-time password; tokens by password and client credentials (HTTP
Basic); the bank file uploaded over HTTP; an AutoML run submitted, registered
and deployed; the endpoint scores; SIGTERM stops the server gracefully; a
restart brings the endpoint back (start_all) and prints no new password."""

from __future__ import annotations

import os
import re
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

from slipway.core.entities import RunStatus


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, workspace: Path, port: int, log: Path) -> None:
        self.workspace, self.port, self.log = workspace, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "slipway", "server", "--workspace", str(self.workspace),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"server not up:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=40)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    running = Server(root / "ws", _free_port(), root / "server.log")
    running.start()
    yield running
    if running.proc is not None and running.proc.poll() is None:
        running.stop()


@pytest.fixture(scope="module")
def owner(server: Server) -> dict[str, str]:
    found = re.search(r"one-time password: (\S+)", server.log.read_text())
    assert found, server.log.read_text()
    response = httpx.post(f"{server.url}/oauth/token", data={
        "grant_type": "password", "username": "admin", "password": found.group(1)})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def contributor(server: Server, owner: dict[str, str]) -> dict[str, str]:
    created = httpx.post(f"{server.url}/api/v1/identities/service-principals", headers=owner,
                         json={"name": "ci-bot", "role": "contributor"})
    assert created.status_code == 201, created.text
    creds = created.json()["sdk_auth"]
    assert creds["tokenUrl"] == f"{server.url}/oauth/token"
    response = httpx.post(creds["tokenUrl"], data={"grant_type": "client_credentials"},
                          auth=(creds["clientId"], creds["clientSecret"]))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_an_upload_cut_off_half_way_leaves_nothing(server: Server,
                                                   contributor: dict[str, str]) -> None:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ncut\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\n\r\n"
            + b"a,b\n1,2\n" * 50_000)
    head = (f"POST /api/v1/datasets/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {contributor['Authorization']}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {len(body) * 2}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head + body)
        time.sleep(0.5)  # the server is streaming the file to the staging area
    tmp = server.workspace / "artifacts" / "tmp"
    deadline = time.monotonic() + 10
    while tmp.exists() and any(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmp.exists() or not any(tmp.iterdir())
    missing = httpx.get(f"{server.url}/api/v1/datasets/cut", headers=contributor)
    assert missing.status_code == 404


def test_upload_automl_register_deploy_score_restart(
        server: Server, owner: dict[str, str], contributor: dict[str, str],
        bank_csv: Path) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=contributor,
                      timeout=300) as api:
        _lifecycle(server, api, bank_csv)


def _lifecycle(server: Server, api: httpx.Client, bank_csv: Path) -> None:
    with bank_csv.open("rb") as fh:
        uploaded = api.post("/datasets/upload", data={"name": "bankmarketing"},
                            files={"file": ("train.csv", fh, "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["num_rows"] == 26361

    submitted = api.post("/runs", json={"experiment": "server", "dataset": "bankmarketing",
                                        "automl": {"target": "y", "timeout_s": 120,
                                                   "iterations": 2, "concurrency": 2,
                                                   "cv_folds": 2, "ensembles": False,
                                                   "allowed_learners": ["LightGBM"]}})
    assert submitted.status_code == 201, submitted.text
    run_id = submitted.json()["run_id"]
    run = _wait(lambda: api.get(f"/runs/{run_id}").json(),
                lambda r: r["status"] in RunStatus.TERMINAL, 300)
    assert run["status"] == RunStatus.COMPLETED, run
    assert api.get(f"/runs/{run_id}/leaderboard").json()["items"][0]["status"] == "Completed"
    assert "run" in api.get(f"/runs/{run_id}/logs").text.lower()

    model = api.post("/models", json={"run_id": run_id, "name": "bank-model"})
    assert model.status_code == 201 and model.json()["model"] == "bank-model:1"
    archive = api.get("/models/bank-model/download")
    assert archive.status_code == 200 and archive.content[:2] == b"PK"

    deployed = api.post("/endpoints", json={"name": "bank-endpoint", "model": "bank-model:1",
                                            "wait": True})
    assert deployed.status_code == 201, deployed.text
    endpoint = deployed.json()
    assert endpoint["state"] == "Healthy", endpoint
    _score(api, endpoint)

    # Graceful: in-flight requests done, lifespan closed the workspace; then uvicorn
    # re-raises the signal, so the exit status says what stopped the server.
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log.read_text()
    os.killpg(endpoint["pid"], signal.SIGTERM)  # as after a reboot: the endpoint is down
    _wait(lambda: _alive(endpoint["pid"]), lambda alive: not alive, 30)

    server.start()
    assert server.log.read_text().count("one-time password") == 0  # the log was rewritten
    back = _wait(lambda: api.get("/endpoints/bank-endpoint").json(),
                 lambda e: e["state"] in ("Healthy", "Failed"), 180)
    assert back["state"] == "Healthy" and back["pid"] != endpoint["pid"], back
    _score(api, back)
    assert api.delete("/endpoints/bank-endpoint").status_code == 204
    assert server.stop(signal.SIGINT) in (0, 130, -signal.SIGINT)
    assert "Application shutdown complete" in server.log.read_text()


def _score(api: httpx.Client, endpoint: dict[str, Any]) -> None:
    keys = api.get(f"/endpoints/{endpoint['name']}/keys").json()
    example = api.get("/models/bank-model").json()["signature"]["example"]
    scored = httpx.post(endpoint["scoring_uri"], json={"data": example},
                        headers={"Authorization": f"Bearer {keys['primary_key']}"})
    assert scored.status_code == 200, scored.text
    assert set(scored.json()["result"]) <= {"yes", "no"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait(get: Any, done: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)
