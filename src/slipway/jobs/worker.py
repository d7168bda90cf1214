"""Workers that execute queued runs.

``python -m slipway.jobs.worker RUN_ID`` claims and executes one run (what
`automl run` starts for a local workspace). ``serve()`` is the loop behind
`slipway worker` and the server's built-in worker: it reaps runs whose worker
was lost, claims queued runs (several workers share one PostgreSQL database
without running one twice), and executes each in a child process that dies
with it, so a killed worker never leaves a run half-alive.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from slipway.core.entities import RunStatus
from slipway.core.errors import SlipwayError

log = logging.getLogger("slipway.worker")
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux: the run's process gets SIGKILL when the worker that started it
    # dies, so `kill -9` of a worker interrupts its runs instead of orphaning them.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def serve(ctx: Any, *, concurrency: int = 1, poll_s: float = 1.0,
          stop: threading.Event | None = None) -> None:
    """Execute queued runs until ``stop`` is set (or forever)."""
    from slipway.jobs.launcher import run_log_path
    from slipway.services import runs as run_service
    from slipway.store.db import safe_url

    stop = stop or threading.Event()
    tag = run_service.worker_tag()
    children: dict[str, subprocess.Popen[bytes]] = {}
    log.info("worker %s: up to %d runs at once on %s (folder %s)", tag, concurrency,
             safe_url(ctx.settings.db_url), ctx.settings.workspace)
    while not stop.is_set():
        for reaped in run_service.reap_lost(ctx, relaunch=False):
            log.warning("run %s: %s (%s)", reaped.id, reaped.status, reaped.error)
        for run_id, proc in list(children.items()):
            if proc.poll() is not None:
                del children[run_id]
                _settle(ctx, run_id, proc.returncode)
        while len(children) < concurrency and not stop.is_set():
            run = ctx.runs.claim_next(tag)
            if run is None:
                break
            log.info("run %s: claimed (attempt %d)", run.id, run.attempts)
            log_path = run_log_path(ctx.settings, run.id)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as out:
                # Its own process group, so the run's trial workers can be
                # stopped (or reaped after a crash) together with it.
                children[run.id] = subprocess.Popen(
                    [sys.executable, "-m", "slipway.jobs.worker", run.id, "--claimed"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=_die_with_parent,
                    env=_child_env(ctx, run.id))
        stop.wait(poll_s)
    for run_id, proc in children.items():
        log.info("run %s: stopped with the worker; queued again", run_id)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # A graceful stop (a server restart) loses no run: it runs again later.
        if ctx.runs.update_run(run_id, only_if_status=(RunStatus.RUNNING,),
                               status=RunStatus.QUEUED, worker=None, heartbeat_at=None,
                               error="queued again: its worker stopped"):
            ctx.runs.delete_children(run_id)


def _child_env(ctx: Any, run_id: str) -> dict[str, str]:
    """The run's environment: the workspace, and its "managed identity" — a
    short-lived token scoped to this workspace — so code in a run can call
    the API with no secret in it."""
    from slipway.services.tokens import issue_run_token

    env = {k: v for k, v in os.environ.items()
           if k not in ("SLIPWAY_CLIENT_ID", "SLIPWAY_CLIENT_SECRET")}
    env["SLIPWAY_WORKSPACE"] = str(ctx.settings.workspace)
    env["SLIPWAY_RUN_ID"] = run_id
    if ctx.settings.database_url:
        env["SLIPWAY_DATABASE_URL"] = ctx.settings.database_url
    if ctx.settings.server_url:
        env["SLIPWAY_SERVER_URL"] = ctx.settings.server_url
    env["SLIPWAY_TOKEN"] = issue_run_token(ctx, run_id).access_token
    return env


def _settle(ctx: Any, run_id: str, returncode: int) -> None:
    """A run process that exited while its run is still Running crashed."""
    run = ctx.runs.get_run(run_id)
    if run.status == RunStatus.RUNNING:
        ctx.runs.update_run(run_id, only_if_status=(RunStatus.RUNNING,),
                            status=RunStatus.FAILED, ended_at=datetime.now(UTC),
                            error=f"the run's process exited with code {returncode}; "
                                  f"see `slipway runs logs {run_id}`")


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1:
        print("usage: python -m slipway.jobs.worker RUN_ID [--claimed]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from slipway.services import automl
    from slipway.services.workspace import open_database_workspace, open_workspace
    from slipway.settings import Settings, is_database_url

    # Our workers pass the folder (and SLIPWAY_DATABASE_URL); a database URL
    # in SLIPWAY_WORKSPACE works too.
    named = os.environ.get("SLIPWAY_WORKSPACE", "")
    ctx = open_database_workspace(named) if is_database_url(named) else \
        open_workspace(Settings.from_env())
    try:
        automl.execute(ctx, args[0], claimed="--claimed" in argv)
    except SlipwayError as exc:
        log.error("%s", exc)
        return exc.exit_code
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
