from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from slipway.core.entities import RunStatus
from slipway.core.errors import NotFound
from slipway.services import runs as run_service


def test_runs_children_and_transitions(ws: Any) -> None:
    store = ws._ctx.runs
    parent = store.create_run("AutoML_x", experiment="exp", kind="automl", status=RunStatus.QUEUED,
                              settings={"a": 1})
    assert parent.status == "Queued" and parent.experiment == "exp" and parent.settings == {"a": 1}
    assert store.update_run("AutoML_x", only_if_status=(RunStatus.QUEUED,), status=RunStatus.RUNNING)
    # A second worker cannot claim it again.
    assert not store.update_run("AutoML_x", only_if_status=(RunStatus.QUEUED,),
                                status=RunStatus.RUNNING)
    for trial, score in ((0, 0.7), (1, 0.9), (2, None)):
        store.create_run(f"AutoML_x_{trial}", experiment="exp", kind="trial",
                         status=RunStatus.RUNNING, parent_id="AutoML_x", started=True)
        store.update_run(f"AutoML_x_{trial}", status=RunStatus.COMPLETED if score else "Failed",
                         score=score)
    store.update_run("AutoML_x", properties={"greater_is_better": True})
    assert [c.id for c in store.children("AutoML_x")] == ["AutoML_x_0", "AutoML_x_1", "AutoML_x_2"]
    board = run_service.leaderboard(ws._ctx, "AutoML_x")
    assert [r["run_id"] for r in board] == ["AutoML_x_1", "AutoML_x_0", "AutoML_x_2"]
    assert [r.id for r in store.list_runs(experiment="exp")] == ["AutoML_x"]  # top level only
    assert [(e.name, e.num_runs) for e in store.list_experiments()] == [("exp", 1)]


def test_cancel_a_queued_run_is_immediate(ws: Any) -> None:
    ws._ctx.runs.create_run("r1", experiment="e", kind="automl", status=RunStatus.QUEUED)
    run = run_service.cancel(ws._ctx, "r1")
    assert run.status == "Canceled" and run.cancel_requested


def test_a_run_whose_worker_died_is_failed_with_worker_lost(ws: Any) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store = ws._ctx.runs
    store.create_run("r2", experiment="e", kind="automl", status=RunStatus.RUNNING, started=True)
    store.update_run("r2", worker=f"{run_service.HOST}:{proc.pid}")
    store.create_run("r2_0", experiment="e", kind="trial", status=RunStatus.RUNNING,
                     parent_id="r2", started=True)
    run = run_service.get(ws._ctx, "r2")
    assert run.status == "Failed" and "worker lost" in (run.error or "")
    assert store.get_run("r2_0").status == "Canceled"


def test_missing_run(ws: Any) -> None:
    with pytest.raises(NotFound) as info:
        run_service.get(ws._ctx, "nope")
    assert info.value.code == "run_not_found"
