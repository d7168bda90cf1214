"""Runs: read, watch and cancel them; notice when their worker has died."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slipway.core.entities import Experiment, Run, RunStatus
from slipway.core.errors import InvalidInput
from slipway.jobs.launcher import run_log_path
from slipway.services.workspace import WorkspaceContext

HOST = socket.gethostname()


def worker_tag() -> str:
    return f"{HOST}:{os.getpid()}"


HEARTBEAT_S = 5.0
STALE_AFTER_S = 45.0


def _pid_gone(tag: str | None) -> bool:
    """True only when the worker ran on this machine and its process is gone."""
    if not tag or ":" not in tag:
        return False
    host, _, pid = tag.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


def _kill_group(tag: str | None) -> None:
    """Stop what a lost run left behind on this machine (its trial workers):
    a run's process leads its own process group."""
    if not tag or not _pid_gone(tag):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(int(tag.rpartition(":")[2]), signal.SIGKILL)


def lost_reason(run: Run, now: datetime | None = None) -> str | None:
    """Why a Running run has no live worker, or None if it has one."""
    if run.status != RunStatus.RUNNING:
        return None
    if _pid_gone(run.worker):
        return f"worker lost: process {run.worker} ended without finishing the run"
    beat = run.heartbeat_at or run.started_at
    now = now or datetime.now(UTC)
    if beat is not None and (now - beat).total_seconds() > STALE_AFTER_S:
        return f"worker lost: no heartbeat from {run.worker} since {beat.isoformat()}"
    return None


def _reap_if_lost(ctx: WorkspaceContext, run: Run, *, relaunch: bool = True) -> Run:
    """A Running run whose worker is gone is re-queued if it asked for retries
    and has some left (and, with ``relaunch``, given a one-shot worker: a
    worker loop passes False and claims it itself), else Failed with the reason."""
    reason = lost_reason(run)
    if reason is None:
        return run
    _kill_group(run.worker)
    if max(run.attempts, 1) <= run.max_retries:
        if ctx.runs.update_run(run.id, only_if_status=(RunStatus.RUNNING,),
                               status=RunStatus.QUEUED, worker=None, heartbeat_at=None,
                               error=f"retrying after: {reason}"):
            ctx.runs.delete_children(run.id)
            if relaunch:
                from slipway.jobs.launcher import launch

                launch(ctx.settings, run.id)
        return ctx.runs.get_run(run.id)
    ended = datetime.now(UTC)
    if ctx.runs.update_run(run.id, only_if_status=(RunStatus.RUNNING,), status=RunStatus.FAILED,
                           error=reason, ended_at=ended):
        for child in ctx.runs.children(run.id):
            if not child.is_terminal:
                ctx.runs.update_run(child.id, status=RunStatus.CANCELED, ended_at=ended,
                                    error="worker lost")
    return ctx.runs.get_run(run.id)


def reap_lost(ctx: WorkspaceContext, *, relaunch: bool = True) -> list[Run]:
    """Check every running run; returns the ones that were failed or re-queued."""
    return [r for r in (_reap_if_lost(ctx, run, relaunch=relaunch) for run in ctx.runs.running())
            if r.status != RunStatus.RUNNING]


def get(ctx: WorkspaceContext, run_id: str) -> Run:
    return _reap_if_lost(ctx, ctx.runs.get_run(run_id))


def list_runs(ctx: WorkspaceContext, experiment: str | None = None, limit: int = 100) -> list[Run]:
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1 (got {limit})")
    return [_reap_if_lost(ctx, r) for r in ctx.runs.list_runs(experiment=experiment, limit=limit)]


def children(ctx: WorkspaceContext, run_id: str) -> list[Run]:
    ctx.runs.get_run(run_id)
    return ctx.runs.children(run_id)


def leaderboard(ctx: WorkspaceContext, run_id: str) -> list[dict[str, Any]]:
    """Child runs sorted by the primary metric, best first; failed ones last."""
    parent = get(ctx, run_id)
    greater = parent.properties.get("greater_is_better", True)
    rows = []
    for child in ctx.runs.children(run_id):
        rows.append({"run_id": child.id, "algorithm": child.display_name, "score": child.score,
                     "duration_s": child.duration_s, "status": child.status,
                     "predict_latency_ms": child.properties.get("predict_latency_ms"),
                     "has_model": child.model_artifact is not None})

    def key(row: dict[str, Any]) -> tuple[int, float]:
        score = row["score"]
        if score is None or row["status"] != RunStatus.COMPLETED:
            return (1, 0.0)
        return (0, -score if greater else score)

    return sorted(rows, key=key)


def cancel(ctx: WorkspaceContext, run_id: str) -> Run:
    """Ask a run to stop; a queued run is canceled at once, a running one
    stops launching trials and keeps the best model so far."""
    run = get(ctx, run_id)
    if run.is_terminal:
        return run
    ctx.runs.request_cancel(run_id)
    ctx.runs.update_run(run_id, only_if_status=(RunStatus.NOT_STARTED, RunStatus.QUEUED),
                        status=RunStatus.CANCELED, ended_at=datetime.now(UTC))
    return ctx.runs.get_run(run_id)


def wait(ctx: WorkspaceContext, run_id: str, *, poll_s: float = 1.0,
         timeout_s: float | None = None,
         on_progress: Callable[[Run, list[Run]], None] | None = None) -> Run:
    """Block until the run ends, calling ``on_progress(run, children)`` each poll."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        run = get(ctx, run_id)
        if on_progress is not None:
            on_progress(run, ctx.runs.children(run_id))
        if run.is_terminal or (deadline is not None and time.monotonic() > deadline):
            return run
        time.sleep(poll_s)


def logs(ctx: WorkspaceContext, run_id: str, tail: int | None = None) -> str:
    run = get(ctx, run_id)
    path = run_log_path(ctx.settings, run.parent_id or run.id)
    if not path.is_file():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-tail:] if tail else lines) + ("\n" if lines else "")


def charts(ctx: WorkspaceContext, run_id: str) -> tuple[str | None, dict[str, Any]]:
    """Where the run's chart data is (a JSON file) and the data itself."""
    import json

    run = get(ctx, run_id)
    if run.charts_artifact is None:
        return None, {}
    path = ctx.artifacts.path(run.charts_artifact)
    return str(path), json.loads(path.read_text())


def list_experiments(ctx: WorkspaceContext) -> list[Experiment]:
    return ctx.runs.list_experiments()


def output_run_id(run: Run) -> str:
    """The run whose model ``get_output`` stands for: an AutoML run's best child
    (its model refit on all rows is stored on the parent), else the run itself."""
    if run.kind == "automl":
        return str(run.properties.get("best_child_run_id") or run.id)
    return run.id
