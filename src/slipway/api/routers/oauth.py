"""``POST /oauth/token`` (RFC 6749: client credentials, password, refresh
token; client id and secret in the form or by HTTP Basic) and
``GET /.well-known/jwks.json``."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from slipway.api.auth import workspace
from slipway.core.errors import InvalidInput
from slipway.services import tokens
from slipway.services.workspace import WorkspaceContext

router = APIRouter(tags=["oauth"])
MAX_FIELDS = 16
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_FORM = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["grant_type"],
        "properties": {
            "grant_type": {"type": "string",
                           "enum": ["client_credentials", "password", "refresh_token"]},
            "client_id": {"type": "string"}, "client_secret": {"type": "string"},
            "username": {"type": "string"}, "password": {"type": "string"},
            "refresh_token": {"type": "string"}}}}}},
    "responses": {"200": {"description": "RFC 6749 access token response", "content": {
        "application/json": {"example": {"access_token": "eyJ...", "token_type": "Bearer",
                                         "expires_in": 3600, "expires_on": 1767225600}}}},
        "400": {"description": 'RFC 6749 error: {"error": "invalid_grant", '
                              '"error_description": "..."}'},
        "401": {"description": "invalid_client"},
        "429": {"description": "too many failed sign-ins (Retry-After)"}}}


@router.post("/oauth/token", summary="Get an access token", openapi_extra=_FORM)
async def token(request: Request) -> JSONResponse:
    form = await _form(request)
    ctx: WorkspaceContext = workspace(request)
    client = request.client.host if request.client else None
    issued = await run_in_threadpool(tokens.token_grant, ctx, form, client_address=client)
    return JSONResponse(issued.to_dict(), headers=NO_STORE)


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidInput("send the token request form-encoded", code="invalid_request",
                           hint="Content-Type: application/x-www-form-urlencoded "
                                "(curl -d grant_type=... does that)")
    parsed = await request.form(max_fields=MAX_FIELDS, max_files=0)
    form: dict[str, str] = {}
    for key, value in parsed.multi_items():
        if not isinstance(value, str):
            raise InvalidInput("the token request has no file fields", code="invalid_request")
        if "\x00" in value or "\x00" in key:
            raise InvalidInput("the token request contains a NUL character",
                               code="invalid_request")
        if key in form:  # RFC 6749 3.2: parameters must not repeat
            raise InvalidInput(f"parameter {key!r} is repeated", code="invalid_request")
        form[key] = value
    basic = _basic_credentials(request.headers.get("authorization", ""))
    if basic is not None:
        if form.get("client_secret"):
            raise InvalidInput("send the client secret by HTTP Basic or in the form, not both",
                               code="invalid_request")
        form["client_id"], form["client_secret"] = basic
    return form


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the Basic credentials are not base64 of id:secret",
                           code="invalid_request") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidInput("the Basic credentials are not id:secret", code="invalid_request")
    # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


@router.get("/.well-known/jwks.json", summary="The public keys that verify access tokens")
def jwks(ctx: WorkspaceContext = Depends(workspace)) -> dict[str, Any]:
    return tokens.jwks(ctx)
