"""`slipway worker`: execute queued runs from the workspace's database. On
another machine, name the workspace by its database URL (``--workspace
postgresql+psycopg://...``); its folder must be shared with this machine."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated

import typer

from slipway.cli.context import workspace, workspace_option
from slipway.client.config import is_url
from slipway.core.errors import InvalidInput


def worker(
    ctx: typer.Context,
    workspace_: Annotated[str | None, typer.Option(
        "--workspace", "-w", help="workspace folder or database URL (default: the global "
                                  "--workspace)")] = None,
    concurrency: Annotated[int, typer.Option(help="runs at once", min=1, max=64)] = 1,
    poll: Annotated[float, typer.Option(help="seconds between looks at the queue")] = 1.0,
    root: Annotated[str | None, typer.Option(
        "--root", help="with --workspace DATABASE_URL: where the workspace folder is mounted "
                       "on this machine (default: SLIPWAY_WORKSPACE_ROOT, else the path the "
                       "database records)")] = None,
) -> None:
    """Take queued runs and execute them until stopped (Ctrl-C or SIGTERM).
    Several workers may share one PostgreSQL database (--workspace
    postgresql+psycopg://...); none runs a run twice."""
    from slipway.client import Workspace
    from slipway.jobs.worker import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    target = workspace_ or workspace_option(ctx)
    if target is not None and is_url(target):
        raise InvalidInput(f"{target} is a server URL; a worker needs the workspace's database",
                           code="remote_workspace",
                           hint="pass the workspace folder, or its database URL "
                                "(postgresql+psycopg://...) with the folder shared here")
    if root is None and workspace_ is None:
        serve(workspace(ctx)._ctx, concurrency=concurrency, poll_s=poll, stop=stop)
        return
    with Workspace(target, root=root) as opened:
        serve(opened._ctx, concurrency=concurrency, poll_s=poll, stop=stop)
