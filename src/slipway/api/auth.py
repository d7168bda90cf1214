"""Who is calling and may they: the one security dependency of the API.

Every route under ``/api/v1`` declares the action it performs with
``dependencies=[requires(Action.X)]``; ``Guard`` turns the bearer token into a
``Principal`` (``services.tokens.authenticate``: signature, expiry, workspace,
revocation) and asks ``services.identities.authorize`` whether its role may
do that action. Nothing else in the API checks tokens or roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

from slipway.services import tokens
from slipway.services.identities import Action, Principal, authorize
from slipway.services.workspace import WorkspaceContext
from slipway.settings import Settings

# Only for the OpenAPI document (the "Authorize" button in /docs); the Guard
# reads the header itself so that every refusal gets the Slipway error envelope.
bearer_scheme = HTTPBearer(auto_error=False, bearerFormat="JWT",
                           description="an access token from POST /oauth/token")


@dataclass
class ApiState:
    """What the app owns: its settings and the opened workspace (engine, stores)."""

    settings: Settings
    ctx: WorkspaceContext
    closed: bool = field(default=False)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.ctx.close()


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.slipway
    return state


def workspace(request: Request) -> WorkspaceContext:
    """The workspace context, as a dependency: ``ctx: WorkspaceContext = Depends(workspace)``."""
    return api_state(request).ctx


class Guard:
    """The dependency that authenticates the caller and authorizes ``action``."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, request: Request, _: Any = Security(bearer_scheme)) -> Principal:
        ctx = api_state(request).ctx
        principal = tokens.authenticate(ctx, request.headers.get("authorization"))
        authorize(principal, self.action)
        request.state.principal = principal
        return principal

    def __repr__(self) -> str:
        return f"Guard({self.action.value})"


def requires(action: Action) -> DependsParam:
    """``dependencies=[requires(Action.RUNS_READ)]`` on a route."""
    return Depends(Guard(action))


def route_action(route: APIRoute) -> Action | None:
    """The action a route's guard enforces (the role matrix test reads it)."""
    for dependency in route.dependant.dependencies:
        if isinstance(dependency.call, Guard):
            return dependency.call.action
    return None
