"""`slipway server`: the control plane's HTTP API in one uvicorn process."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated

import typer

from slipway.cli.output import console, err_console

log = logging.getLogger("slipway.server")


def server(
    ctx: typer.Context,
    workspace: Annotated[str | None, typer.Option(
        "--workspace", "-w", help="workspace folder (default: the global --workspace)")] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    max_upload_mb: Annotated[int | None, typer.Option(
        "--max-upload-mb", help="largest dataset upload (default SLIPWAY_MAX_UPLOAD_BYTES, "
                                "else 1024; 0 = no limit)")] = None,
    start_endpoints: Annotated[bool, typer.Option(
        "--start-endpoints/--no-start-endpoints",
        help="start the endpoints that should be running")] = True,
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error")] = "info",
    run_workers: Annotated[int, typer.Option(
        help="runs the built-in worker executes at once (0: leave runs to `slipway worker`)",
        min=0, max=64)] = 1,
) -> None:
    """Serve the REST API (/api/v1, /oauth/token, /docs). On the first start it
    creates an owner and prints its one-time password."""
    import dataclasses
    import os

    import uvicorn

    from slipway.api import create_app
    from slipway.api.auth import ApiState
    from slipway.client.config import resolve_workspace
    from slipway.services import identities
    from slipway.settings import Settings

    root = ctx.find_root().obj or {}
    settings = Settings.from_env(workspace=resolve_workspace(workspace or root.get("workspace")))
    upload_mb = max_upload_mb if max_upload_mb is not None else (
        None if os.environ.get("SLIPWAY_MAX_UPLOAD_BYTES") else 1024)
    if upload_mb is not None:
        settings = dataclasses.replace(settings, max_upload_bytes=upload_mb * 1024 * 1024)
    if not settings.server_url:
        from slipway.core.net import http_url

        settings = dataclasses.replace(settings, server_url=http_url(host, port))
    settings = dataclasses.replace(settings, queue_only=True, endpoint_host=host)
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema upgrades say enough
    app = create_app(settings)
    state: ApiState = app.state.slipway
    issued = identities.ensure_owner(state.ctx)
    if issued is not None:
        console.print(f"Created the owner [bold]{issued.identity.name}[/bold] with the one-time "
                      f"password: [bold]{issued.secret}[/bold]\n"
                      "It is shown only now. Change it: slipway login --url "
                      f"{settings.server_url} --username {issued.identity.name}, then "
                      "slipway --workspace "
                      f"{settings.server_url} users change-password", highlight=False)
    if start_endpoints:
        threading.Thread(target=_start_endpoints, args=(state,), name="start-endpoints",
                         daemon=True).start()
    err_console.print(f"Slipway API for {settings.workspace} on {settings.server_url} "
                      f"(docs: {settings.server_url}/docs)", highlight=False, soft_wrap=True)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(),
                            loop="uvloop", http="httptools", timeout_graceful_shutdown=30,
                            server_header=False)
    stop = threading.Event()
    worker = None
    if run_workers:
        from slipway.jobs.worker import serve

        worker = threading.Thread(target=serve, args=(state.ctx,), name="run-worker",
                                  kwargs={"concurrency": run_workers, "stop": stop}, daemon=True)
        worker.start()
    # uvicorn stops on SIGTERM/SIGINT: no new connections, in-flight requests
    # finish, then the app's lifespan closes the workspace. It re-raises the
    # signal after restoring the handlers it found: ours stops the worker
    # (re-queuing its runs) instead of killing the process mid-way.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=60)


def _start_endpoints(state: object) -> None:
    from slipway.api.auth import ApiState
    from slipway.services import endpoints

    assert isinstance(state, ApiState)
    try:
        for endpoint in endpoints.start_all(state.ctx):
            log.info("endpoint %s: %s", endpoint.name, endpoint.state)
    except Exception:
        log.exception("starting the endpoints failed")
