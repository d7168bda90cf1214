"""One SDK suite, two backends: ``sdk`` is a ``Workspace`` over a local folder
(services in-process) or over the API app (in-process through httpx, with an
owner's token). Both hold the same seeded resources (see
``api.conftest.seed_resources``): dataset ``toy``, completed AutoML run
``AutoML_p`` (children ``AutoML_p_0`` with a model, ``AutoML_p_1``), model
``toy-model:1`` and a stopped key-auth endpoint ``ep``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from api.conftest import make_settings, seed_resources, sign_in
from fastapi import FastAPI

from slipway.api import create_app
from slipway.client import TokenAuthentication, Workspace
from slipway.services import tokens
from slipway.services.identities import HASH_COST_SETTING
from slipway.services.workspace import WorkspaceContext

SERVER = "http://testserver"


class PortalTransport(httpx.BaseTransport):
    """A synchronous httpx transport that calls an ASGI app in-process (the
    SDK's client is synchronous; ``httpx.ASGITransport`` is async only)."""

    def __init__(self, app: FastAPI, portal: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return response.status_code, response.headers, body

        status, headers, body = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=body, request=request)


def fast(ws: Workspace) -> Workspace:
    from dataclasses import replace

    ctx = ws._ctx
    ctx.settings = replace(ctx.settings, extra={**ctx.settings.extra, HASH_COST_SETTING: "fast"})
    return ws


@pytest.fixture
def server(ws_path: Path, tmp_path: Path) -> Iterator[Any]:
    """The API app on a seeded workspace, and a factory of remote Workspaces on it."""
    with ExitStack() as stack:
        app = create_app(make_settings(ws_path))
        stack.callback(app.state.slipway.close)
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        seed_resources(app.state.slipway.ctx, tmp_path)

        def connect(auth: Any) -> Workspace:
            ws = Workspace(SERVER, auth=auth, http_transport=PortalTransport(app, portal))
            stack.callback(ws.close)
            return ws

        yield app, connect


@pytest.fixture(params=["local", "remote"])
def sdk(request: pytest.FixtureRequest, ws_path: Path, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "local":
        ws = fast(Workspace(ws_path))
        seed_resources(ws._ctx, tmp_path)
        yield ws
        ws.close()
        return
    server = request.getfixturevalue("server")
    app, connect = server
    token = sign_in(app.state.slipway.ctx, "olive", "owner", kind="user")
    yield connect(TokenAuthentication(token))


@dataclass
class Backend:
    """What is behind ``sdk``: the workspace's services in-process (to arrange
    and check state), and ``sign_in(name, password)``: a Workspace acting as
    that user (on a local workspace, ``sdk`` itself: a folder has no sign-in)."""

    ctx: WorkspaceContext
    sign_in: Callable[[str, str], Workspace]


@pytest.fixture
def backend(request: pytest.FixtureRequest, sdk: Workspace) -> Backend:
    if not sdk.is_remote:
        return Backend(sdk._ctx, lambda name, password: sdk)
    app, connect = request.getfixturevalue("server")
    ctx: WorkspaceContext = app.state.slipway.ctx

    def sign_in_as(name: str, password: str) -> Workspace:
        token = tokens.password_grant(ctx, name, password).access_token
        ws: Workspace = connect(TokenAuthentication(token))
        return ws

    return Backend(ctx, sign_in_as)
