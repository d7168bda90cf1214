"""Schemathesis against a real `slipway server`'s /openapi.json, with a
bounded number of examples per operation: no request may produce a 500."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

MAX_EXAMPLES = "8"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.one_backend
def test_no_operation_answers_500(ws: Any, ws_path: Path, tmp_path: Path, bank_csv: Path) -> None:
    from slipway.services import identities

    runner = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if runner is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[dev]'")
    ws.datasets.register("bank", bank_csv)
    issued = identities.create_service_principal(ws._ctx, "fuzzer", role="contributor")
    client_id = issued.identity.client_id
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "slipway", "--workspace", str(ws_path), "server", "--port",
         str(port), "--run-workers", "0", "--no-start-endpoints"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        token = httpx.post(f"{url}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": issued.secret}, timeout=30).json()["access_token"]
        proc = subprocess.run(
            [runner, "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
             "--max-examples", MAX_EXAMPLES, "--seed", "0", "--workers", "1",
             "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
             "-H", f"Authorization: Bearer {token}", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
