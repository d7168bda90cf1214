"""`slipway worker`: execute queued runs from the workspace's database."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated

import typer

from slipway.cli.context import workspace


def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="runs at once", min=1, max=64)] = 1,
    poll: Annotated[float, typer.Option(help="seconds between looks at the queue")] = 1.0,
) -> None:
    """Take queued runs and execute them until stopped (Ctrl-C or SIGTERM).
    Several workers may share one PostgreSQL database; none runs a run twice."""
    from slipway.jobs.worker import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve(workspace(ctx)._ctx, concurrency=concurrency, poll_s=poll, stop=stop)
