"""The app's outer boundary (pure ASGI, so it adds no per-request task):
a request id on every answer, a cap on request bodies, and a last catch for
exceptions nothing else handled (answered by ``errors.error_response``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slipway.api.errors import error_response
from slipway.core.errors import InvalidInput, PayloadTooLarge

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def too_large(limit: int, what: str = "the request body") -> PayloadTooLarge:
    return PayloadTooLarge(f"{what} is larger than {limit:,} bytes",
                           hint="send less; the server's limits are SLIPWAY_MAX_REQUEST_BYTES "
                                "and SLIPWAY_MAX_UPLOAD_BYTES",
                           details={"limit_bytes": limit})


class Boundary:
    """``max_body`` applies to every path except ``streamed_paths`` (which read
    their body themselves, under their own limit)."""

    def __init__(self, app: ASGIApp, *, max_body: int, streamed_paths: Collection[str] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self.streamed_paths = frozenset(streamed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []),
                                      (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        try:
            _check_url(scope)
            if scope["path"] not in self.streamed_paths:
                if _content_length(scope) > self.max_body:
                    raise too_large(self.max_body)
                receive = _capped(receive, self.max_body)
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:  # too late for an error body; the server closes the connection
                raise
            await error_response(Request(scope), exc)(scope, receive, send_with_id)


def _check_url(scope: Scope) -> None:
    # Control characters (NUL above all) are never part of a name; PostgreSQL
    # refuses NUL outright, so stop them at the door.
    if _CONTROL.search(scope["path"]) or b"%00" in scope.get("query_string", b"").lower():
        raise InvalidInput("the URL contains control characters", code="invalid_request",
                           hint="names are letters, digits, '.', '_', '-' (and '@' for identities)")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _SAFE_ID.match(value):
            return value.decode()
    return uuid.uuid4().hex


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
        return message

    return wrapped
