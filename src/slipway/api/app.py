"""The control plane's HTTP API: ``create_app(settings)`` builds one FastAPI
application that owns the settings and the opened workspace (engine,
stores). Nothing important lives in module globals, so tests and the
benchmark build as many apps as they like."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from slipway.api import errors
from slipway.api.auth import ApiState
from slipway.api.middleware import Boundary
from slipway.api.routers import datasets, endpoints, identities, models, oauth, runs
from slipway.api.schemas import ErrorEnvelope
from slipway.core.errors import NotFound
from slipway.services.workspace import WorkspaceContext, open_workspace
from slipway.settings import Settings

API_PREFIX = "/api/v1"
DOCS_ASSETS = "/docs/assets"

_DESCRIPTION = """The Slipway control plane: datasets, AutoML runs, models, endpoints
and identities of one workspace.

Get a token with `POST /oauth/token` (form-encoded `grant_type=client_credentials`
with `client_id`/`client_secret`, or `grant_type=password`), then send
`Authorization: Bearer <token>`. Errors are
`{"error": {"code", "message", "hint", "details"}}`."""

#: Mounted under API_PREFIX; every route in them declares its action (``requires``).
API_ROUTERS = (datasets.router, runs.experiments, runs.router, models.router, endpoints.router,
               identities.router, identities.me_router)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": words} for status, words in (
        (400, "invalid input"), (401, "no valid token"), (403, "the role may not do this"),
        (404, "not found"), (409, "conflict"), (413, "too large"), (422, "validation failed"))}


def create_app(settings: Settings, *, ctx: WorkspaceContext | None = None) -> FastAPI:
    """The API for the workspace ``settings`` name (opened here unless ``ctx``
    is given; the app then closes it at shutdown either way)."""
    state = ApiState(settings=settings, ctx=ctx or open_workspace(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="Slipway control plane", version="1", description=_DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  responses=_ERRORS)
    app.state.slipway = state
    errors.install(app)
    app.add_middleware(Boundary, max_body=settings.max_request_bytes,
                       streamed_paths={datasets.UPLOAD_PATH})
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(oauth.router)
    _add_docs(app)
    return app


def _add_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the ``swagger-ui-bundle`` package the scoring
    server already uses, so it works without a network."""
    from slipway.serving import swagger

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="Slipway API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")

    @app.get(DOCS_ASSETS + "/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        asset = swagger.ui_asset(name)
        if asset is None:
            raise NotFound(f"no Swagger UI file {name!r}", code="asset_not_found",
                           hint="install the swagger-ui-bundle package for /docs")
        return Response(asset[0], media_type=asset[1],
                        headers={"Cache-Control": "max-age=86400"})

    @app.get("/healthz", tags=["meta"], summary="Liveness (no token needed)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}
