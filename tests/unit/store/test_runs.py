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


def test_claim_next_takes_the_oldest_queued_top_level_run(ws: Any) -> None:
    store = ws._ctx.runs
    for run_id in ("q1", "q2"):
        store.create_run(run_id, experiment="e", kind="automl", status=RunStatus.QUEUED)
    store.create_run("q1_0", experiment="e", kind="trial", status=RunStatus.QUEUED, parent_id="q1")
    first = store.claim_next("host:1")
    assert first is not None and first.id == "q1" and first.status == "Running"
    assert first.attempts == 1 and first.worker == "host:1" and first.heartbeat_at is not None
    assert store.claim_next("host:2").id == "q2"  # type: ignore[union-attr]
    assert store.claim_next("host:3") is None  # children are never claimed on their own


def test_concurrent_workers_never_claim_a_run_twice(ws: Any) -> None:
    import threading

    store = ws._ctx.runs
    for index in range(12):
        store.create_run(f"c{index:02d}", experiment="e", kind="automl", status=RunStatus.QUEUED)
    claimed: list[str] = []
    lock = threading.Lock()

    def work(tag: str) -> None:
        while (run := store.claim_next(tag)) is not None:
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=work, args=(f"w:{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == [f"c{i:02d}" for i in range(12)]


def test_stale_heartbeat_fails_the_run_or_requeues_it(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from slipway.jobs import launcher

    launched: list[str] = []
    monkeypatch.setattr(launcher, "launch", lambda settings, run_id: launched.append(run_id))
    store = ws._ctx.runs
    old = datetime.now(UTC) - timedelta(seconds=run_service.STALE_AFTER_S + 5)
    store.create_run("once", experiment="e", kind="automl", status=RunStatus.QUEUED)
    store.create_run("retry", experiment="e", kind="automl", status=RunStatus.QUEUED,
                     max_retries=1)
    for run_id in ("once", "retry"):
        assert store.claim(run_id, "other-host:1")
        store.update_run(run_id, heartbeat_at=old)
    store.create_run("retry_0", experiment="e", kind="trial", status=RunStatus.RUNNING,
                     parent_id="retry", started=True)
    reaped = {r.id: r for r in run_service.reap_lost(ws._ctx)}
    assert reaped["once"].status == "Failed" and "no heartbeat" in (reaped["once"].error or "")
    assert reaped["retry"].status == "Queued" and launched == ["retry"]
    assert store.children("retry") == []
    # The second loss uses up the retry.
    assert store.claim("retry", "other-host:1")
    store.update_run("retry", heartbeat_at=old)
    assert run_service.get(ws._ctx, "retry").status == "Failed"


def test_fresh_heartbeat_on_another_host_is_left_alone(ws: Any) -> None:
    store = ws._ctx.runs
    store.create_run("live", experiment="e", kind="automl", status=RunStatus.QUEUED)
    assert store.claim("live", "other-host:1")
    store.heartbeat("live")
    assert run_service.reap_lost(ws._ctx) == []
    assert run_service.get(ws._ctx, "live").status == "Running"
