"""``/api/v1/identities``: users and service principals (owners only), and
``/api/v1/me``, ``/api/v1/me/password``, ``/api/v1/workspace/rotate-signing-key``.

A secret (client secret, generated password) is in the answer of the call
that makes it, and nowhere else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from slipway.api.auth import api_state, requires, workspace
from slipway.api.schemas import (
    AddUser,
    ChangePassword,
    CreateServicePrincipal,
    IdentityKind,
    Name,
    ResetPassword,
    SetRole,
)
from slipway.core.errors import Forbidden, Unauthenticated
from slipway.services import identities as service
from slipway.services import tokens
from slipway.services.identities import (
    SERVICE_PRINCIPAL,
    USER,
    Action,
    IssuedSecret,
    Principal,
)
from slipway.services.workspace import WorkspaceContext

router = APIRouter(prefix="/identities", tags=["identities"])
me_router = APIRouter(tags=["identities"])
Ctx = Annotated[WorkspaceContext, Depends(workspace)]
READ, WRITE = requires(Action.IDENTITIES_READ), requires(Action.IDENTITIES_WRITE)


def _issued(request: Request, ctx: WorkspaceContext, issued: IssuedSecret) -> dict[str, Any]:
    out: dict[str, Any] = {"identity": issued.identity.to_dict(), "secret": issued.secret}
    if issued.identity.client_id is not None and issued.secret is not None:
        url = api_state(request).settings.server_url or str(request.base_url)
        out["sdk_auth"] = service.sdk_auth(ctx, issued, url)
    return out


@router.get("", dependencies=[READ], summary="Users and service principals, by name")
def list_identities(ctx: Ctx, kind: IdentityKind | None = None) -> dict[str, Any]:
    found = service.list_identities(ctx, kind.kind if kind else None)
    return {"items": [i.to_dict() for i in found]}


@router.post("/service-principals", status_code=201, dependencies=[WRITE],
             summary="Create a service principal; the answer holds its client secret, once")
def create_service_principal(body: CreateServicePrincipal, request: Request,
                             ctx: Ctx) -> dict[str, Any]:
    return _issued(request, ctx, service.create_service_principal(ctx, body.name, body.role))


@router.post("/users", status_code=201, dependencies=[WRITE],
             summary="Add a user; without a password one is generated and answered, once")
def add_user(body: AddUser, request: Request, ctx: Ctx) -> dict[str, Any]:
    return _issued(request, ctx, service.add_user(ctx, body.name, body.role, body.password))


@router.get("/{kind}/{name}", dependencies=[READ], summary="A user or service principal")
def show(kind: IdentityKind, name: Name, ctx: Ctx) -> dict[str, Any]:
    return service.get(ctx, name, kind.kind).to_dict()


@router.post("/service-principals/{name}/reset-secret", dependencies=[WRITE],
             summary="A new client secret; the old one and its tokens stop working")
def reset_secret(name: Name, request: Request, ctx: Ctx) -> dict[str, Any]:
    return _issued(request, ctx, service.reset_secret(ctx, name))


@router.post("/users/{name}/reset-password", dependencies=[WRITE],
             summary="Set or generate a user's password; signs them out everywhere")
def reset_password(name: Name, body: ResetPassword, request: Request, ctx: Ctx) -> dict[str, Any]:
    return _issued(request, ctx, service.reset_password(ctx, name, body.password))


@router.post("/{kind}/{name}/set-role", dependencies=[WRITE],
             summary="Change a role; the identity's tokens stop working")
def set_role(kind: IdentityKind, name: Name, body: SetRole, ctx: Ctx) -> dict[str, Any]:
    return service.set_role(ctx, name, body.role, kind.kind).to_dict()


@router.post("/{kind}/{name}/revoke-tokens", dependencies=[WRITE],
             summary="Sign an identity out everywhere")
def revoke_tokens(kind: IdentityKind, name: Name, ctx: Ctx) -> dict[str, Any]:
    return service.revoke_tokens(ctx, name, kind.kind).to_dict()


@router.delete("/{kind}/{name}", status_code=204, dependencies=[WRITE],
               summary="Delete a user or service principal (never the last owner)")
def delete(kind: IdentityKind, name: Name, ctx: Ctx) -> Response:
    service.delete(ctx, name, kind.kind)
    return Response(status_code=204)


@me_router.get("/me", summary="Who the token speaks for")
def me(principal: Annotated[Principal, requires(Action.WORKSPACE_READ)]) -> dict[str, Any]:
    return principal.to_dict()


@me_router.post("/me/password", summary="Change your own password (users), proving the "
                "current one; ends your other sign-ins")
def change_password(body: ChangePassword, request: Request, ctx: Ctx,
                    principal: Annotated[Principal, requires(Action.WORKSPACE_READ)]
                    ) -> dict[str, Any]:
    """A wrong current password counts as a failed sign-in (and is refused
    while sign-in is locked, 429). Every token of the user stops working."""
    _refuse_non_user(principal)
    client = request.client.host if request.client else None
    try:
        changed = tokens.change_own_password(ctx, principal.name, body.old_password,
                                             body.new_password, client_address=client)
    except Unauthenticated:
        # Not 401: the caller's token is fine, and a client would renew it and try again.
        raise Forbidden("the current password is wrong", code="wrong_password",
                        hint="check it and try again; after a few wrong tries sign-in locks "
                             "for a while. Forgotten? An owner can set a new one: "
                             f"slipway users reset-password {principal.name}") from None
    return changed.to_dict()


def _refuse_non_user(principal: Principal) -> None:
    if principal.kind == USER:
        return
    if principal.kind == SERVICE_PRINCIPAL:
        raise Forbidden(f"service principal '{principal.name}' has a client secret, not a "
                        "password", code="not_a_user",
                        hint=f"an owner issues a new secret: slipway sp reset-secret "
                             f"{principal.name}")
    raise Forbidden(f"a {principal.kind} token has no password to change", code="not_a_user",
                    hint="sign in as a user (slipway login) to change your password")


@me_router.post("/workspace/rotate-signing-key", dependencies=[requires(Action.WORKSPACE_ADMIN)],
                summary="A new token-signing key; older tokens verify until they expire")
def rotate_signing_key(ctx: Ctx) -> dict[str, str]:
    return {"kid": tokens.rotate_signing_key(ctx)}
