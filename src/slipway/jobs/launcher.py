"""Start a detached worker process for one run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from slipway.settings import Settings


def run_log_path(settings: Settings, run_id: str) -> Path:
    return settings.workspace / "runs" / f"{run_id}.log"


def launch(settings: Settings, run_id: str) -> int:
    """Start ``python -m slipway.jobs.worker RUN_ID`` in its own session (so a
    Ctrl-C in the terminal reaches the CLI, which cancels the run cleanly,
    not the worker). Returns its pid."""
    log_path = run_log_path(settings, run_id)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SLIPWAY_WORKSPACE": str(settings.workspace)}
    if settings.database_url:
        env["SLIPWAY_DATABASE_URL"] = settings.database_url
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "slipway.jobs.worker", run_id],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=settings.workspace, env=env, start_new_session=True)
    # Reap it when it ends, so a long-lived caller (the server) keeps no zombies.
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{run_id}").start()
    return proc.pid
