"""The scoring server process: ``python -m slipway.serving``.

The parent process binds the socket and supervises N uvicorn workers (uvloop
and httptools; a worker that dies is started again). It never loads the
model: each worker does, in :func:`app_from_env`, and marks itself ready
after warm-up. The parent writes ``<log-dir>/ready.json`` once every worker
is ready and answers ``/v2/health/ready``; it removes the file on exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from slipway.serving.requestlog import SERVER_LOG_FILE

ENV_MODEL_DIR = "SLIPWAY_SERVING_MODEL_DIR"
ENV_CONFIG_DIR = "SLIPWAY_SERVING_CONFIG_DIR"
ENV_LOG_DIR = "SLIPWAY_SERVING_LOG_DIR"
READY_FILE = "ready.json"
WORKERS_DIR = ".workers"

log = logging.getLogger("slipway.serving")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m slipway.serving",
                                     description="Serve one model directory over HTTP.")
    parser.add_argument("--model-dir", required=True, type=Path,
                        help="a Slipway model directory (model.pkl + signature.json)")
    parser.add_argument("--config-dir", required=True, type=Path,
                        help="endpoint.json, keys.json, token_public_key.pem (re-read on change)")
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="requests.jsonl, server.log, ready.json (default: --config-dir)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--ready-timeout", type=float, default=300.0,
                        help="seconds to wait for every worker before giving up")
    return parser.parse_args(argv)


def setup_logging(log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    logger = logging.getLogger("slipway.serving")
    if logger.handlers:
        return
    for handler in (logging.FileHandler(log_dir / SERVER_LOG_FILE), logging.StreamHandler()):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def app_from_env() -> Any:
    """The uvicorn factory each worker calls: load, compile, check, warm up, mark ready."""
    from uvicorn.config import STARTUP_FAILURE

    from slipway.serving.app import create_app

    log_dir = Path(os.environ[ENV_LOG_DIR])
    setup_logging(log_dir)
    try:
        app = create_app(os.environ[ENV_MODEL_DIR], os.environ[ENV_CONFIG_DIR], log_dir)
    except Exception:  # the same model fails the same way in every worker: stop, don't loop
        log.exception("cannot serve %s", os.environ[ENV_MODEL_DIR])
        sys.exit(STARTUP_FAILURE)
    marks = log_dir / WORKERS_DIR
    marks.mkdir(exist_ok=True)
    (marks / str(os.getpid())).write_text(json.dumps({"fast_path": app.model.fast.enabled,
                                                      "reason": app.model.fast.reason}))
    return app


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready_workers(log_dir: Path) -> list[dict[str, Any]]:
    out = []
    for mark in (log_dir / WORKERS_DIR).glob("*"):
        if mark.name.isdigit() and _alive(int(mark.name)):
            try:
                out.append({"pid": int(mark.name), **json.loads(mark.read_text())})
            except ValueError:
                continue
    return out


def _answers_ready(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    conn = http.client.HTTPConnection(target, port, timeout=5)
    try:
        conn.request("GET", "/v2/health/ready")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def watch_readiness(args: argparse.Namespace, log_dir: Path, stop: threading.Event) -> None:
    """Write ready.json once all workers are warmed up and the port answers."""
    deadline = time.monotonic() + args.ready_timeout
    while not stop.is_set() and time.monotonic() < deadline:
        workers = _ready_workers(log_dir)
        if len(workers) >= args.workers and _answers_ready(args.host, args.port):
            ready = {"pid": os.getpid(), "url": f"http://{args.host}:{args.port}",
                     "workers": workers, "model_dir": str(args.model_dir),
                     "ready_at": time.time()}
            tmp = log_dir / f".{READY_FILE}.tmp"
            tmp.write_text(json.dumps(ready, indent=2))
            os.replace(tmp, log_dir / READY_FILE)
            log.info("ready: %d workers on %s", len(workers), ready["url"])
            return
        stop.wait(0.1)
    if not stop.is_set():
        log.error("workers were not ready within %.0f s", args.ready_timeout)


def main(argv: list[str] | None = None) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    args = parse_args(argv)
    log_dir = (args.log_dir or args.config_dir).resolve()
    setup_logging(log_dir)
    (log_dir / READY_FILE).unlink(missing_ok=True)
    marks = log_dir / WORKERS_DIR
    marks.mkdir(parents=True, exist_ok=True)
    for stale in marks.glob("*"):
        stale.unlink(missing_ok=True)
    if not (args.model_dir / "model.pkl").is_file():
        log.error("no model.pkl in %s", args.model_dir)
        return 2
    os.environ[ENV_MODEL_DIR] = str(args.model_dir.resolve())
    os.environ[ENV_CONFIG_DIR] = str(args.config_dir.resolve())
    os.environ[ENV_LOG_DIR] = str(log_dir)
    config = uvicorn.Config("slipway.serving.process:app_from_env", factory=True,
                            host=args.host, port=args.port, workers=max(1, args.workers),
                            loop="uvloop", http="httptools", lifespan="on", access_log=False,
                            log_level="warning", server_header=False,
                            timeout_worker_healthcheck=10)
    sock = config.bind_socket()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_readiness, args=(args, log_dir, stop), daemon=True)
    watcher.start()
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        stop.set()
        (log_dir / READY_FILE).unlink(missing_ok=True)
        sock.close()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        log.error("a worker could not start; see the errors above")
        return STARTUP_FAILURE
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
