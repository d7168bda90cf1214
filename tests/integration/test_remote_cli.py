"""The CLI, unchanged, against a real `slipway server`: a service principal
from the environment (SLIPWAY_CLIENT_ID/SLIPWAY_CLIENT_SECRET) registers data,
runs AutoML with the live table, registers, downloads, predicts with and
deploys a model, scores it and manages identities; then `slipway login` caches
a user's token (0600) that later commands use."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, env: dict[str, str | None] | None = None, input: str | None = None,
         check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``env`` values of None remove the variable."""
    merged = {**os.environ, **(env or {}), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "slipway", *args], capture_output=True,
                          text=True, timeout=400, input=input, cwd=cwd,
                          env={k: v for k, v in merged.items() if v is not None})
    if check and proc.returncode != 0:
        raise AssertionError(f"slipway {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A server on a fresh workspace, and an owner service principal made
    on the folder before it started (the documented first step)."""
    ws = tmp_path / "ws"
    creds = json.loads(_cli("--workspace", str(ws), "sp", "create", "ci", "--role", "owner",
                            "--sdk-auth").stdout)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "slipway", "server", "--workspace",
                                 str(ws), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url, log, {"SLIPWAY_CLIENT_ID": creds["clientId"],
                         "SLIPWAY_CLIENT_SECRET": creds["clientSecret"]}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)


def test_cli_against_a_server(server: tuple[str, Path, dict[str, str]], tmp_path: Path,
                              bank_csv: Path) -> None:
    url, _, sp_env = server

    def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return _cli("--workspace", url, *args, env=sp_env, **kwargs)

    def run_json(*args: str) -> Any:
        return json.loads(run(*args, "--output", "json").stdout)

    sample = tmp_path / "bank.csv"
    pd.read_csv(bank_csv).sample(3000, random_state=0).to_csv(sample, index=False)
    dataset = run_json("datasets", "register", "bank", "--file", str(sample))
    assert (dataset["version"], dataset["num_rows"], dataset["created"]) == (1, 3000, True)
    assert [d["name"] for d in run_json("datasets", "list")] == ["bank"]
    missing = run("datasets", "show", "nope", check=False)
    assert missing.returncode == 3 and "nope" in missing.stderr

    live = run("automl", "run", "--dataset", "bank", "--target", "y", "--timeout", "3m",
               "--iterations", "2", "--cv", "2", "--no-ensembles",
               "--allowed-learners", "LightGBM", "--experiment", "remote")
    run_id = run_json("runs", "list")[0]["run_id"]
    assert run_id in live.stdout
    shown = run_json("runs", "show", run_id)
    assert shown["status"] == "Completed", shown
    assert run_json("runs", "leaderboard", run_id)[0]["status"] == "Completed"

    model = run_json("models", "register", "--run", run_id, "--name", "bank-model")
    assert model["model"] == "bank-model:1"
    run("models", "download", "bank-model:1", "--to", str(tmp_path / "model"))
    assert (tmp_path / "model" / "model.pkl").is_file()
    run("models", "predict", "--model", "bank-model", "--input", str(sample),
        "--output-file", str(tmp_path / "scored.csv"))
    assert len(pd.read_csv(tmp_path / "scored.csv")) == 3000
    # A run's own model (refit on all rows), downloaded, hash checked and scored here.
    run("models", "predict", "--run", run_id, "--input", str(sample), "--proba",
        "--output-file", str(tmp_path / "by-run.csv"))
    by_run = pd.read_csv(tmp_path / "by-run.csv")
    assert len(by_run) == 3000 and {"prediction", "proba_yes"} <= set(by_run.columns)

    endpoint = run_json("deploy", "bank-model:1", "--name", "bank-ep")
    assert endpoint["state"] == "Healthy", endpoint
    try:
        payload = tmp_path / "payload.json"
        payload.write_text(json.dumps({"data": model["signature"]["example"]}))
        scored = json.loads(run("endpoints", "score", "bank-ep", "--file", str(payload)).stdout)
        assert set(scored["result"]) <= {"yes", "no"}
    finally:
        run("endpoints", "delete", "bank-ep")

    assert run_json("users", "add", "alice", "--role", "reader")["password"]
    assert {"ci"} == {s["name"] for s in run_json("sp", "list")}

    # A person signs in once; later commands use the cached token, no secret in the env.
    run("users", "add", "olive", "--role", "owner", "--password-stdin",
        input="a long enough passphrase\n")
    signed_in = json.loads(_cli("login", "--url", url, "--username", "olive", "--password-stdin",
                                "--output", "json", input="a long enough passphrase\n").stdout)
    assert (signed_in["name"], signed_in["role"]) == ("olive", "owner")
    cached = Path(os.environ["HOME"]) / ".slipway" / "credentials.json"
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    users = json.loads(_cli("--workspace", url, "users", "list", "--output", "json").stdout)
    assert {"alice", "olive"} <= {u["name"] for u in users}
    # Changing one's own password keeps this sign-in (the cache is renewed), ends the others.
    changed = json.loads(_cli("--workspace", url, "users", "change-password", "--password-stdin",
                              "--output", "json",
                              input="a long enough passphrase\nanother long passphrase\n").stdout)
    assert changed["name"] == "olive"
    assert json.loads(_cli("--workspace", url, "users", "list", "--output", "json").stdout)
    # Where nothing else names a workspace, commands use the server signed in to last;
    # the default folder ~/.slipway, which holds the cached tokens, stays usable.
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    unset: dict[str, str | None] = {"SLIPWAY_WORKSPACE": None}
    plain = json.loads(_cli("users", "list", "--output", "json", cwd=nowhere, env=unset).stdout)
    assert {"alice", "olive"} <= {u["name"] for u in plain}
    _cli("login", "--logout", cwd=nowhere, env=unset)  # of the default server
    local = json.loads(_cli("users", "list", "--output", "json", cwd=nowhere, env=unset).stdout)
    assert "olive" not in {u["name"] for u in local}  # now the local ~/.slipway workspace
    _cli("login", "--url", url, "--logout")
    refused = _cli("--workspace", url, "users", "list", check=False)
    assert refused.returncode == 5 and "slipway login" in refused.stderr
