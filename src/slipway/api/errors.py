"""The one place where an exception becomes an HTTP answer.

Every JSON error is ``{"error": {"code", "message", "hint"?, "details"?}}``,
except on ``/oauth/token``, whose clients expect RFC 6749 section 5.2:
``{"error": "invalid_grant", "error_description": "...", "hint"?: "..."}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from slipway.core.errors import InvalidInput, SlipwayError, TooManyAttempts, Unauthenticated

log = logging.getLogger("slipway.api")

TOKEN_PATH = "/oauth/token"
_RFC6749_CODES = {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                  "unsupported_grant_type", "invalid_scope", "temporarily_unavailable"}


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler: SlipwayError -> its status, validation -> 400/422
    naming the field, HTTP errors of the router -> their status, anything else
    -> 500 with the request id (and the traceback in the log)."""
    error = _as_slipway_error(request, exc)
    headers = _headers(request, error)
    if request.url.path == TOKEN_PATH:
        return _oauth_error(request, error, headers)
    return JSONResponse({"error": error.to_dict()}, status_code=error.http_status, headers=headers)


def _as_slipway_error(request: Request, exc: Exception) -> SlipwayError:
    if isinstance(exc, SlipwayError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _validation_error(exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_error(request, exc)
    rid = request_id(request)
    log.error("unexpected error in %s %s (request %s)", request.method, request.url.path, rid,
              exc_info=exc)
    return SlipwayError("the server failed to handle this request", code="internal_error",
                        hint="this is a bug in Slipway; the server log has the details "
                             "under this request id",
                        details={"request_id": rid})


def _validation_error(exc: RequestValidationError) -> SlipwayError:
    errors = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    first = errors[0] if errors else {"field": "", "message": "invalid request", "type": ""}
    if first["type"] == "json_invalid":
        return InvalidInput(f"the request body is not valid JSON: {first['message']}",
                            code="invalid_json", hint="send a JSON object with "
                                                      "Content-Type: application/json")
    where = f"{first['field']}: " if first["field"] else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    error = InvalidInput(f"{where}{first['message']}{more}", code="validation_failed",
                         hint="see details.errors for every field; GET /openapi.json has "
                              "the schema", details={"errors": errors})
    error.http_status = 422  # type: ignore[misc]
    return error


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or ())]
    return ".".join(parts)


def _http_error(request: Request, exc: StarletteHTTPException) -> SlipwayError:
    if exc.status_code == 404:
        code, message = "route_not_found", f"no route {request.method} {request.url.path}"
        hint = "GET /openapi.json lists the routes"
    elif exc.status_code == 405:
        code = "method_not_allowed"
        message = f"{request.url.path} does not answer {request.method}"
        hint = f"allowed: {(exc.headers or {}).get('Allow', '?')}"
    else:
        code, message, hint = "http_error", str(exc.detail), ""
    error = SlipwayError(message, code=code, hint=hint or None)
    error.http_status = exc.status_code  # type: ignore[misc]
    return error


def _headers(request: Request, error: SlipwayError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if "retry_after_s" in error.details:
        headers["Retry-After"] = str(error.details["retry_after_s"])
    if error.code == "method_not_allowed" and error.hint:
        headers["Allow"] = error.hint.removeprefix("allowed: ")
    if isinstance(error, Unauthenticated) and request.url.path != TOKEN_PATH:
        headers["WWW-Authenticate"] = f'Bearer realm="slipway", error="{_bearer_error(error)}"'
    return headers


def _bearer_error(error: SlipwayError) -> str:
    return "invalid_request" if error.code == "missing_token" else "invalid_token"


def _oauth_error(request: Request, error: SlipwayError,
                 headers: dict[str, str]) -> JSONResponse:
    code = error.code
    if code not in _RFC6749_CODES and code != TooManyAttempts.code:
        code = "invalid_request" if isinstance(error, InvalidInput) else "server_error"
    status = {"invalid_client": 401, "too_many_attempts": 429, "temporarily_unavailable": 503,
              "server_error": error.http_status}.get(code, 400)
    if code == "invalid_client" and request.headers.get("authorization", "").lower().startswith(
            "basic"):
        headers["WWW-Authenticate"] = 'Basic realm="slipway"'
    body: dict[str, Any] = {"error": code, "error_description": error.message}
    if error.hint:
        body["hint"] = error.hint
    if error.details:
        body["details"] = error.details
    headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register ``error_response`` for every exception the routing layer sees.
    (Exceptions nothing else catches reach it through ``middleware.Boundary``.)"""
    for kind in (SlipwayError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, error_response)
