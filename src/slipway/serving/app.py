"""The scoring server's ASGI application: routing, one error envelope, request log.

A plain ASGI callable rather than a framework app: on a 2-row request the
framework's request/response objects, middleware stack and dependency
injection would cost more than scoring itself. Everything a request needs
is prepared in :func:`create_app`; a request parses JSON, validates, scores,
and writes one log line.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from slipway.core.errors import InvalidInput, NotFound, PayloadTooLarge, SlipwayError
from slipway.serving import swagger, v2
from slipway.serving.auth import Authenticator, AuthError
from slipway.serving.config import ENDPOINT_FILE, FileWatch, read_endpoint_config
from slipway.serving.model import LoadedModel
from slipway.serving.monitoring import LogMetrics
from slipway.serving.requestlog import REQUEST_LOG_FILE, RequestLog
from slipway.serving.validation import extract_records, parse_json, validate_records

log = logging.getLogger("slipway.serving")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = b"application/json"
_CORS = [(b"access-control-allow-origin", b"*")]
_PREFLIGHT = [
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"authorization, content-type, x-request-id"),
    (b"access-control-max-age", b"600"),
]
_random_bits = random.Random().getrandbits
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestTimeout(SlipwayError):
    code = "request_timeout"
    http_status = 408
    exit_code = 2


class MethodNotAllowed(SlipwayError):
    code = "method_not_allowed"
    http_status = 405
    exit_code = 2


class Response:
    __slots__ = ("body", "content_type", "headers", "rows", "status")

    def __init__(self, body: bytes, status: int = 200, content_type: bytes = _JSON,
                 rows: int = 0, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.body = body
        self.status = status
        self.content_type = content_type
        self.rows = rows
        self.headers = headers


def _json(data: Any, status: int = 200, rows: int = 0) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY), status, rows=rows)


class ScoringApp:
    """One endpoint's scoring app; build it with :func:`create_app`."""

    def __init__(self, model: LoadedModel, config_dir: Path, log_dir: Path) -> None:
        self.model = model
        self.config_dir = config_dir
        self._config_watch = FileWatch(config_dir / ENDPOINT_FILE)
        self.config = read_endpoint_config(config_dir)
        self._config_watch.changed()
        self.auth = Authenticator(config_dir)
        self.request_log = RequestLog(log_dir / REQUEST_LOG_FILE,
                                      max_bytes=self.config.request_log_max_bytes,
                                      backups=self.config.request_log_backups)
        self.metrics = LogMetrics(log_dir / REQUEST_LOG_FILE, self.config.name)
        self._openapi: bytes | None = None
        self._routes: dict[tuple[str, str], Callable[..., Awaitable[Response]]] = {
            ("GET", "/"): self.health,
            ("POST", "/score"): self.score,
            ("GET", "/swagger.json"): self.openapi,
            ("GET", "/docs"): self.docs,
            ("GET", "/metrics"): self.prometheus,
            ("GET", "/v2"): self.v2_server,
            ("GET", "/v2/health/ready"): self.health,
            ("GET", "/v2/health/live"): self.health,
        }

    # -- ASGI -----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        authorization = request_id = content_length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
        if request_id is None or not _REQUEST_ID.match(request_id):
            request_id = f"{_random_bits(128):032x}"  # an id, not a secret: no syscall needed
        method, path = scope["method"], scope["path"]
        error = None
        try:
            if self._config_watch.changed():
                self._reload_config()
            if method == "OPTIONS":
                response = Response(b"", 204, content_type=b"text/plain", headers=_PREFLIGHT)
            else:
                handler = self._routes.get((method, path))
                if handler is None:
                    handler = self._v2_model_route(method, path)
                response = await handler(scope, receive, authorization, content_length, request_id)
        except SlipwayError as exc:
            response = _json({"error": exc.to_dict()}, exc.http_status)
            if isinstance(exc, AuthError):
                response.headers = [(b"www-authenticate", exc.www_authenticate.encode())]
            error = exc.code
        except Exception:  # never a traceback to the client, never a dead worker
            log.exception("unexpected error on %s %s (request %s)", method, path, request_id)
            response = _json({"error": {"code": "internal_error",
                                        "message": "the server failed to answer this request",
                                        "hint": f"see the server log for request {request_id}"}},
                             500)
            error = "internal_error"
        headers = [(b"content-type", response.content_type),
                   (b"content-length", str(len(response.body)).encode()),
                   (b"x-request-id", request_id.encode()), *_CORS]
        if response.headers:
            headers += response.headers
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        client = scope.get("client")
        self.request_log.write(
            request_id=request_id, method=method, path=path, status=response.status,
            latency_ms=(time.perf_counter() - start) * 1000.0, rows=response.rows,
            client=f"{client[0]}:{client[1]}" if client else "", error=error)

    def _reload_config(self) -> None:
        try:
            self.config = read_endpoint_config(self.config_dir)
        except (SlipwayError, OSError) as exc:  # keep serving with the last good config
            log.error("ignoring the new %s: %s", ENDPOINT_FILE, exc)
            return
        self.metrics.endpoint = self.config.name
        self._openapi = None
        log.info("endpoint config reloaded: auth=%s monitoring=%s", self.config.auth,
                 self.config.monitoring)

    def _v2_model_route(self, method: str, path: str) -> Callable[..., Awaitable[Response]]:
        prefix = "/v2/models/"
        if path.startswith(prefix):
            name, _, rest = path[len(prefix):].partition("/")
            if name != self.config.name:
                raise NotFound(f"no model named {name!r} here",
                               hint=f"this endpoint serves {self.config.name!r}")
            route = {("GET", ""): self.v2_metadata, ("GET", "ready"): self.health,
                     ("POST", "infer"): self.v2_infer}.get((method, rest))
            if route is not None:
                return route
        if any(p == path for _, p in self._routes):
            raise MethodNotAllowed(f"{method} is not allowed on {path}")
        raise NotFound(f"no route {method} {path}",
                       hint="POST /score, GET /swagger.json, GET /docs, or the v2 protocol")

    async def _body(self, receive: Receive, content_length: bytes | None) -> bytes:
        limit = self.config.max_body_bytes
        if content_length is not None and content_length.isdigit() and int(content_length) > limit:
            raise PayloadTooLarge(f"the body has {int(content_length)} bytes; this endpoint "
                                  f"accepts at most {limit}",
                                  hint="split the request into smaller batches")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.config.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise InvalidInput("the client went away before sending the body",
                                           code="client_disconnected")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"the body is larger than {limit} bytes",
                                              hint="split the request into smaller batches")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise RequestTimeout(f"the body did not arrive within {self.config.body_timeout_s} s",
                                 hint="send the whole request without pausing") from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- handlers ---------------------------------------------------------------

    async def health(self, *_: Any) -> Response:
        return _json({"status": "Healthy", "ready": True, "live": True})

    async def score(self, scope: Scope, receive: Receive, authorization: bytes | None,
                    content_length: bytes | None, request_id: str) -> Response:
        self.auth.check(self.config, authorization)
        payload = parse_json(await self._body(receive, content_length))
        records, method = extract_records(payload)
        results, n = self.model.score_records(records, method, self.config.max_rows)
        key = "result" if "data" in payload else "Results"
        return Response(orjson.dumps({key: results}), rows=n)

    async def openapi(self, *_: Any) -> Response:
        if self._openapi is None:
            doc = swagger.build_openapi(self.model.signature, self.config, self.model.classes,
                                        self.config.model or self.model.path.name)
            self._openapi = orjson.dumps(doc)
        return Response(self._openapi)

    async def docs(self, scope: Scope, *_: Any) -> Response:
        return Response(swagger.docs_page(f"{self.config.name} - Swagger UI"),
                        content_type=b"text/html; charset=utf-8")

    async def swagger_asset(self, name: str) -> Response:
        asset = swagger.ui_asset(name)
        if asset is None:
            raise NotFound(f"no Swagger UI file {name!r}",
                           hint="install the swagger-ui-bundle package for /docs")
        return Response(asset[0], content_type=asset[1].encode(),
                        headers=[(b"cache-control", b"max-age=86400")])

    async def prometheus(self, scope: Scope, receive: Receive, authorization: bytes | None,
                         *_: Any) -> Response:
        if not self.config.monitoring:
            raise NotFound("monitoring is off for this endpoint", code="monitoring_off",
                           hint="turn it on with: slipway endpoints update <name> --monitoring on")
        self.auth.check(self.config, authorization)
        text = self.metrics.prometheus_text({"slipway_fast_path_enabled":
                                             float(self.model.fast.enabled)})
        return Response(text.encode(), content_type=b"text/plain; version=0.0.4; charset=utf-8")

    async def v2_server(self, *_: Any) -> Response:
        return _json({"name": "slipway", "version": "1", "extensions": []})

    async def v2_metadata(self, *_: Any) -> Response:
        return _json(v2.model_metadata(self.model, self.config.name))

    async def v2_infer(self, scope: Scope, receive: Receive, authorization: bytes | None,
                       content_length: bytes | None, request_id: str) -> Response:
        self.auth.check(self.config, authorization)
        payload = parse_json(await self._body(receive, content_length))
        rows, outputs = v2.records_from_tensors(payload)
        batch = validate_records(rows, self.model.schema, self.config.max_rows)
        labels, proba = self.model.score_arrays(batch)
        rid = payload.get("id") if isinstance(payload.get("id"), str) else request_id
        return _json(v2.infer_response(self.model, self.config.name, rid, labels, proba, outputs),
                     rows=batch.n)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class _AssetRoutes:
    """Adds /swagger-ui/<file> to an app's routes (kept apart: it is not on the hot path)."""

    @staticmethod
    def install(app: ScoringApp) -> None:
        for name in swagger._UI_FILES:
            async def handler(*_: Any, _name: str = name) -> Response:
                return await app.swagger_asset(_name)
            app._routes[("GET", f"/swagger-ui/{name}")] = handler


def create_app(model_dir: str | Path, config_dir: str | Path,
               log_dir: str | Path | None = None) -> ScoringApp:
    """Load and prepare the model, read the endpoint config, open the request log.

    ``log_dir`` defaults to ``config_dir``. Raises (and so never serves) if the
    model directory or the config cannot be used."""
    config_dir = Path(config_dir)
    config = read_endpoint_config(config_dir)
    model = LoadedModel(model_dir, fast_path=config.fast_path,
                        check_every=config.fast_path_check_every)
    app = ScoringApp(model, config_dir, Path(log_dir) if log_dir is not None else config_dir)
    _AssetRoutes.install(app)
    # the model, libraries and prepared tables live as long as the process: keep them out
    # of the garbage collector's way, so per-request collections stay small
    gc.collect()
    gc.freeze()
    log.info("endpoint %s ready in worker %d: model %s, auth=%s, fast path %s (%s)",
             config.name, os.getpid(), model_dir, config.auth,
             "on" if model.fast.enabled else "off", model.fast.reason)
    return app
