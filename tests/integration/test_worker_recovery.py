"""`kill -9` of a worker mid-run, then a restart: the interrupted run is
Failed with "worker lost" (or re-queued when it asked for retries), queued runs
still run, and the database is intact. And a worker named only by the
workspace's database URL (as on another machine) runs queued runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _start_worker(workspace: Path | str, log: Path, *, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            # `slipway worker --workspace ...`, as the README writes it
            [sys.executable, "-m", "slipway", "worker", "--workspace", str(workspace),
             "--concurrency", "2", "--poll", "0.5"], stdout=out, stderr=subprocess.STDOUT,
            cwd=cwd, env={**os.environ} if env is None else env)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=90)
    except subprocess.TimeoutExpired:
        worker.kill()


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.one_backend
def test_kill_9_worker_then_restart(ws: Any, ws_path: Path, bank_csv: Path,
                                    tmp_path: Path) -> None:
    from slipway.automl import AutoMLSettings
    from slipway.services import automl

    ws.datasets.register("bank", bank_csv)

    def submit(retries: int, **kw: Any) -> Any:
        settings = AutoMLSettings(task="classification", target="y", concurrency=1, cv_folds=3,
                                  **{"timeout_s": 240, **kw})
        return automl.submit(ws._ctx, "recovery", "bank", settings, launch=False,
                             max_retries=retries)

    lost, retried = submit(0), submit(1)
    queued = submit(0, timeout_s=180, iterations=1, ensembles=False,
                    allowed_learners=["LogisticRegression"])
    log = tmp_path / "worker.log"
    worker = _start_worker(ws_path, log)
    try:
        _wait(lambda: all(ws._ctx.runs.children(r.id) for r in (lost, retried)), 480,
              "both runs to start trials")
        run_processes = _children_of(worker.pid)
        assert len(run_processes) == 2, "the worker runs each run in a child process"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        # A run's own process dies with its worker: no orphan keeps computing.
        _wait(lambda: not any(_running(p) for p in run_processes), 30, "the run processes to die")
        worker = _start_worker(ws_path, log)
        _wait(lambda: ws.runs.get(lost.id).status == "Failed", 90, "the lost run to be failed")
        assert "worker lost" in (ws.runs.get(lost.id).error or "")
        # Nothing the lost runs started (their trial workers) is left computing.
        _wait(lambda: not any(_group_members(p) for p in run_processes), 30,
              "the lost runs' trial workers to be stopped")
        _wait(lambda: ws.runs.get(queued.id).is_terminal, 600, "the queued run to finish")
        assert ws.runs.get(queued.id).status == "Completed", log.read_text()[-3000:]
        again = ws.runs.get(retried.id)
        assert (again.attempts == 2 and "retrying after: worker lost" in (again.error or "")) \
            or again.status == "Completed"
    finally:
        _stop(worker)
    # The database is intact: every table reads and every run is in a clear state.
    assert ws.datasets.get("bank").num_rows == 26361
    statuses = {r.id: r.status for r in ws.runs.list(experiment="recovery")}
    assert statuses[lost.id] == "Failed" and statuses[queued.id] == "Completed"
    assert set(statuses.values()) <= {"Completed", "Failed", "Canceled", "Queued"}


@pytest.mark.one_backend
def test_a_worker_named_by_the_database_url_runs_queued_runs(ws: Any, bank_csv: Path,
                                                            tmp_path: Path) -> None:
    import pandas as pd

    from slipway.automl import AutoMLSettings
    from slipway.services import automl

    small = tmp_path / "bank-small.csv"
    pd.read_csv(bank_csv).sample(2000, random_state=0).to_csv(small, index=False)
    ws.datasets.register("bank-small", small)
    settings = AutoMLSettings(task="classification", target="y", concurrency=1, cv_folds=3,
                              timeout_s=120, iterations=1, ensembles=False,
                              allowed_learners=["LogisticRegression"])
    run = automl.submit(ws._ctx, "remote", "bank-small", settings, launch=False)
    assert ws.runs.get(run.id).status == "Queued"
    # Another machine's view: no folder, no SLIPWAY_* settings, only the URL.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPWAY_")}
    log = tmp_path / "worker.log"
    worker = _start_worker(ws.database_url, log, cwd=elsewhere, env=env)
    try:
        _wait(lambda: ws.runs.get(run.id).is_terminal or worker.poll() is not None, 240,
              "the queued run to finish")
        assert ws.runs.get(run.id).status == "Completed", log.read_text()[-3000:]
    finally:
        _stop(worker)
    assert (ws.path / "runs" / f"{run.id}.log").is_file(), "the run logs into the shared folder"
    assert list(elsewhere.iterdir()) == [], "the worker wrote nothing where it was started"
