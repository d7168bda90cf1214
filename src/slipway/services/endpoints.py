"""Real-time endpoints: a scoring process per endpoint (its own port, N
workers) started from a registered model, outliving the command that
started it. The control plane writes the endpoint's config directory; the
scoring workers re-read it, so keys and monitoring change without a restart.

```
<workspace>/endpoints/<name>/config/   endpoint.json, keys.json (hashes), token_public_key.pem
<workspace>/endpoints/<name>/logs/     requests.jsonl, server.log, process.log, ready.json
```
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slipway.core.entities import Endpoint, EndpointState
from slipway.core.errors import InvalidInput
from slipway.services import models as model_service
from slipway.services.datasets import validate_name
from slipway.services.workspace import WorkspaceContext

AUTH_MODES = ("key", "token", "none")
MAX_WORKERS = 32
READY_FILE = "ready.json"
TOKEN_TTL_S = 3600

# Popen objects of processes this process started, so they are reaped (no zombies)
# when a long-lived caller (a test, later the server) stops them.
_children: dict[int, subprocess.Popen[bytes]] = {}


def endpoint_dirs(ctx: WorkspaceContext, name: str) -> tuple[Path, Path]:
    root = ctx.settings.workspace / "endpoints" / name
    return root / "config", root / "logs"


def _bind(host: str, port: int) -> int:
    """Bind ``host:port`` for a moment (IPv4 or IPv6, as the host resolves) and
    return the port; a host this machine cannot listen on is bad input."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise InvalidInput(f"cannot listen on host {host!r}: {exc.strerror}",
                           hint="pass --host 127.0.0.1, 0.0.0.0 or an address of this machine"
                           ) from exc
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if port:
                raise InvalidInput(f"port {port} on {host} is in use ({exc.strerror})",
                                   hint="choose another --port or leave it out") from exc
            raise InvalidInput(f"cannot listen on host {host!r}: {exc.strerror}",
                               hint="pass --host 127.0.0.1, 0.0.0.0 or an address of this "
                                    "machine") from exc
        return int(sock.getsockname()[1])


def _free_port(ctx: WorkspaceContext, host: str) -> int:
    taken = ctx.endpoints.used_ports()
    for _ in range(50):
        port = _bind(host, 0)
        if port not in taken:
            return port
    raise InvalidInput("could not find a free port", hint="pass --port")


def _validate(auth: str, workers: int, port: int | None) -> None:
    if auth not in AUTH_MODES:
        raise InvalidInput(f"--auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS} (got {workers})")
    if port is not None and not 1024 <= port <= 65535:
        raise InvalidInput(f"--port must be between 1024 and 65535 (got {port})")


def deploy(ctx: WorkspaceContext, model_ref: str, name: str, *, auth: str = "key",
           workers: int = 1, monitoring: bool = False, port: int | None = None,
           host: str = "127.0.0.1", wait: bool = True, timeout_s: float = 180.0) -> Endpoint:
    """Start an endpoint serving a registered model. With ``wait``, return once
    it is Healthy (or Failed, with the reason)."""
    validate_name(name, "endpoint")
    _validate(auth, workers, port)
    model = model_service.get_model(ctx, model_ref)
    model_service.model_path(ctx, model.ref)  # the hash is checked before anything starts
    if port is None:
        port = _free_port(ctx, host)
    else:
        _bind(host, port)
    primary, secondary = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    endpoint = ctx.endpoints.create(
        name, model_name=model.name, model_version=model.version,
        state=EndpointState.TRANSITIONING, desired_running=True, auth_mode=auth, host=host,
        port=port, workers=workers, monitoring=monitoring,
        primary_key=ctx.secrets.encrypt(primary), secondary_key=ctx.secrets.encrypt(secondary))
    try:
        _write_config(ctx, endpoint, primary, secondary)
        _start_process(ctx, endpoint)
    except BaseException:
        _remove(ctx, name)
        raise
    return wait_ready(ctx, name, timeout_s) if wait else ctx.endpoints.get(name)


def _write_config(ctx: WorkspaceContext, endpoint: Endpoint, primary: str, secondary: str) -> None:
    from slipway.serving.config import (
        EndpointConfig,
        write_endpoint_config,
        write_keys,
        write_token_public_key,
    )

    config_dir, log_dir = endpoint_dirs(ctx, endpoint.name)
    config_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    write_endpoint_config(config_dir, EndpointConfig(
        name=endpoint.name, auth=endpoint.auth_mode, monitoring=endpoint.monitoring,
        model=endpoint.model))
    write_keys(config_dir, primary=primary, secondary=secondary)
    write_token_public_key(config_dir, ctx.secrets.verification_pems())


def _start_process(ctx: WorkspaceContext, endpoint: Endpoint) -> None:
    model = model_service.get_model(ctx, endpoint.model)
    model_dir = model_service.model_path(ctx, model.ref)
    from slipway.serving.config import write_token_public_key

    config_dir, log_dir = endpoint_dirs(ctx, endpoint.name)
    (log_dir / READY_FILE).unlink(missing_ok=True)
    # The keys may have rotated while it was stopped, or while no server was up.
    write_token_public_key(config_dir, ctx.secrets.verification_pems())
    command = [sys.executable, "-m", "slipway.serving", "--model-dir", str(model_dir),
               "--config-dir", str(config_dir), "--log-dir", str(log_dir),
               "--host", endpoint.host, "--port", str(endpoint.port),
               "--workers", str(endpoint.workers)]
    with open(log_dir / "process.log", "ab") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=log_dir, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _children[proc.pid] = proc
    ctx.endpoints.update(endpoint.name, pid=proc.pid, state=EndpointState.TRANSITIONING,
                         error=None, desired_running=True)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _last_lines(path: Path, n: int = 12) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def refresh(ctx: WorkspaceContext, endpoint: Endpoint) -> Endpoint:
    """Reconcile the stored state with the process: ready -> Healthy; gone ->
    Failed with the last log lines; up but not ready after having been -> Unhealthy."""
    if not endpoint.desired_running:
        return endpoint
    _, log_dir = endpoint_dirs(ctx, endpoint.name)
    if not _alive(endpoint.pid):
        if endpoint.state == EndpointState.FAILED:
            return endpoint
        reason = _last_lines(log_dir / "process.log") or "the scoring process exited"
        return ctx.endpoints.update(endpoint.name, state=EndpointState.FAILED,
                                    error=f"scoring process {endpoint.pid} is not running:\n{reason}")
    ready = (log_dir / READY_FILE).is_file()
    if ready and endpoint.state != EndpointState.HEALTHY:
        return ctx.endpoints.update(endpoint.name, state=EndpointState.HEALTHY, error=None)
    if not ready and endpoint.state == EndpointState.HEALTHY:
        return ctx.endpoints.update(endpoint.name, state=EndpointState.UNHEALTHY,
                                    error="workers are restarting; see `slipway endpoints logs`")
    return endpoint


def get(ctx: WorkspaceContext, name: str) -> Endpoint:
    return refresh(ctx, ctx.endpoints.get(name))


def list_endpoints(ctx: WorkspaceContext) -> list[Endpoint]:
    return [refresh(ctx, e) for e in ctx.endpoints.list()]


def wait_ready(ctx: WorkspaceContext, name: str, timeout_s: float = 180.0) -> Endpoint:
    deadline = time.monotonic() + timeout_s
    while True:
        endpoint = get(ctx, name)
        if endpoint.state in (EndpointState.HEALTHY, EndpointState.FAILED):
            return endpoint
        if time.monotonic() > deadline:
            _stop_process(endpoint.pid)
            _, log_dir = endpoint_dirs(ctx, name)
            return ctx.endpoints.update(
                name, state=EndpointState.FAILED,
                error=f"not ready after {timeout_s:.0f}s:\n{_last_lines(log_dir / 'process.log')}")
        time.sleep(0.2)


def _stop_process(pid: int | None, timeout_s: float = 15.0) -> None:
    if pid is None or not _alive(pid):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout=5)


def _remove(ctx: WorkspaceContext, name: str) -> None:
    ctx.endpoints.delete(name)
    shutil.rmtree(ctx.settings.workspace / "endpoints" / name, ignore_errors=True)


def delete(ctx: WorkspaceContext, name: str) -> None:
    """Stop the process (freeing the port), then forget the endpoint."""
    endpoint = ctx.endpoints.get(name)
    _stop_process(endpoint.pid)
    _remove(ctx, name)


def stop(ctx: WorkspaceContext, name: str) -> Endpoint:
    endpoint = ctx.endpoints.get(name)
    _stop_process(endpoint.pid)
    return ctx.endpoints.update(name, desired_running=False, state=EndpointState.STOPPED,
                                pid=None)


def start(ctx: WorkspaceContext, name: str, *, wait: bool = True,
          timeout_s: float = 180.0) -> Endpoint:
    """Start an endpoint whose process is not running (after a reboot, `stop`, or a crash)."""
    endpoint = get(ctx, name)
    if _alive(endpoint.pid):
        return endpoint
    _start_process(ctx, endpoint)
    return wait_ready(ctx, name, timeout_s) if wait else ctx.endpoints.get(name)


def start_all(ctx: WorkspaceContext, timeout_s: float = 180.0) -> list[Endpoint]:
    """Start every endpoint that should be running and is not."""
    started = [e for e in ctx.endpoints.list() if e.desired_running and not _alive(e.pid)]
    for endpoint in started:
        _start_process(ctx, endpoint)
    return [wait_ready(ctx, e.name, timeout_s) for e in started]


def update(ctx: WorkspaceContext, name: str, *, monitoring: bool | None = None,
           model: str | None = None, workers: int | None = None,
           timeout_s: float = 180.0) -> Endpoint:
    """Monitoring changes in place; a new model or worker count restarts the process."""
    from slipway.serving.config import update_endpoint_config

    endpoint = ctx.endpoints.get(name)
    if workers is not None:
        _validate(endpoint.auth_mode, workers, None)
    fields: dict[str, Any] = {}
    if model is not None:
        new = model_service.get_model(ctx, model)
        model_service.model_path(ctx, new.ref)
        fields.update(model_name=new.name, model_version=new.version)
        update_endpoint_config(endpoint_dirs(ctx, name)[0], model=new.ref)
    if workers is not None:
        fields["workers"] = workers
    if monitoring is not None:
        config_dir, _ = endpoint_dirs(ctx, name)
        update_endpoint_config(config_dir, monitoring=monitoring)
        fields["monitoring"] = monitoring
    if not fields:
        raise InvalidInput("nothing to update", hint="pass --monitoring, --model or --workers")
    endpoint = ctx.endpoints.update(name, **fields)
    if (model is not None or workers is not None) and endpoint.desired_running:
        _stop_process(endpoint.pid)
        _start_process(ctx, endpoint)
        return wait_ready(ctx, name, timeout_s)
    return get(ctx, name)


# -- credentials ----------------------------------------------------------------

def get_keys(ctx: WorkspaceContext, name: str) -> dict[str, str]:
    endpoint = ctx.endpoints.get(name)
    if endpoint.auth_mode != "key":
        raise InvalidInput(f"endpoint '{name}' uses {endpoint.auth_mode} auth, not keys",
                           hint=f"use `slipway endpoints token {name}`"
                           if endpoint.auth_mode == "token" else "it needs no credentials")
    primary, secondary = ctx.endpoints.secrets(name)
    assert primary is not None and secondary is not None
    return {"primary_key": ctx.secrets.decrypt(primary),
            "secondary_key": ctx.secrets.decrypt(secondary)}


def regen_key(ctx: WorkspaceContext, name: str, which: str) -> dict[str, str]:
    """Replace one key; the old one stops working at once in every worker."""
    from slipway.serving.config import write_keys

    if which not in ("primary", "secondary"):
        raise InvalidInput(f"--key must be primary or secondary, not {which!r}")
    get_keys(ctx, name)
    new = secrets.token_urlsafe(32)
    config_dir, _ = endpoint_dirs(ctx, name)
    write_keys(config_dir, **{which: new})
    ctx.endpoints.update(name, **{f"{which}_key": ctx.secrets.encrypt(new)})
    return get_keys(ctx, name)


def get_token(ctx: WorkspaceContext, name: str, ttl_s: int = TOKEN_TTL_S) -> dict[str, Any]:
    """A short-lived JWT for a token-auth endpoint, verified offline by the endpoint."""
    endpoint = ctx.endpoints.get(name)
    if endpoint.auth_mode != "token":
        raise InvalidInput(f"endpoint '{name}' uses {endpoint.auth_mode} auth, not tokens",
                           hint=f"use `slipway endpoints keys {name}`"
                           if endpoint.auth_mode == "key" else "it needs no credentials")
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=ttl_s)
    token = ctx.secrets.sign({"aud": name, "sub": f"workspace:{ctx.workspace_id}",
                              "iat": int(now.timestamp()), "exp": int(expires.timestamp())})
    return {"access_token": token, "token_type": "Bearer",
            "expires_on": int(expires.timestamp()), "expires_at": expires.isoformat()}


def auth_header(ctx: WorkspaceContext, endpoint: Endpoint) -> dict[str, str]:
    if endpoint.auth_mode == "key":
        return {"Authorization": f"Bearer {get_keys(ctx, endpoint.name)['primary_key']}"}
    if endpoint.auth_mode == "token":
        return {"Authorization": f"Bearer {get_token(ctx, endpoint.name)['access_token']}"}
    return {}


# -- logs and monitoring --------------------------------------------------------

def _request_log(ctx: WorkspaceContext, name: str) -> Path:
    from slipway.serving.requestlog import REQUEST_LOG_FILE

    ctx.endpoints.get(name)
    return endpoint_dirs(ctx, name)[1] / REQUEST_LOG_FILE


def logs(ctx: WorkspaceContext, name: str, tail: int = 100) -> tuple[list[dict[str, Any]], int]:
    """The last ``tail`` request records and the offset to follow from."""
    from slipway.serving.requestlog import tail_records

    if tail < 1:
        raise InvalidInput(f"--tail must be at least 1 (got {tail})")
    return tail_records(_request_log(ctx, name), tail)


def logs_since(ctx: WorkspaceContext, name: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    from slipway.serving.requestlog import records_since

    return records_since(_request_log(ctx, name), offset)


def metrics(ctx: WorkspaceContext, name: str, minutes: int = 60) -> list[dict[str, Any]]:
    """Per-minute requests, failures and latency percentiles of scoring requests."""
    from slipway.serving.monitoring import summarize

    if minutes < 1:
        raise InvalidInput(f"--minutes must be at least 1 (got {minutes})")
    since = time.time() - minutes * 60
    return [m.to_dict() for m in summarize(_request_log(ctx, name), since=since)]
