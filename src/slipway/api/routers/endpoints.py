"""``/api/v1/endpoints``: deploy, list, show, update, start (one or all), stop, delete,
keys, regen-key, token, logs and metrics of scoring endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from slipway.api.auth import requires, workspace
from slipway.api.schemas import DeployEndpoint, RegenerateKey, UpdateEndpoint
from slipway.services import endpoints as service
from slipway.services.identities import Action
from slipway.services.workspace import WorkspaceContext

router = APIRouter(prefix="/endpoints", tags=["endpoints"])
Ctx = Annotated[WorkspaceContext, Depends(workspace)]
Timeout = Annotated[float, Query(gt=0, le=600)]
READ, WRITE = requires(Action.ENDPOINTS_READ), requires(Action.ENDPOINTS_WRITE)
KEYS = requires(Action.ENDPOINTS_KEYS)


@router.post("", status_code=201, dependencies=[WRITE],
             summary="Deploy a registered model as a scoring endpoint")
def deploy(body: DeployEndpoint, ctx: Ctx) -> dict[str, Any]:
    """Answers at once with state Transitioning unless ``wait`` (then Healthy or Failed)."""
    return service.deploy(ctx, body.model, body.name, auth=body.auth, workers=body.workers,
                          monitoring=body.monitoring, port=body.port,
                          host=body.host or ctx.settings.endpoint_host, wait=body.wait,
                          timeout_s=body.timeout_s).to_dict()


# Not ambiguous with an endpoint named "start-all" (a valid name): no route
# answers POST /endpoints/{name}, so its GET, PATCH and DELETE still find it.
@router.post("/start-all", dependencies=[WRITE],
             summary="Start every endpoint that should be running and is not")
def start_all(ctx: Ctx, timeout_s: Timeout = 180.0) -> dict[str, Any]:
    """Waits up to ``timeout_s`` for each one to be Healthy (or Failed); answers
    the endpoints it started (none when every one is already running)."""
    return {"items": [e.to_dict() for e in service.start_all(ctx, timeout_s)]}


@router.get("", dependencies=[READ], summary="Endpoints and their state")
def list_endpoints(ctx: Ctx) -> dict[str, Any]:
    return {"items": [e.to_dict() for e in service.list_endpoints(ctx)]}


@router.get("/{name}", dependencies=[READ], summary="An endpoint")
def show(name: str, ctx: Ctx) -> dict[str, Any]:
    return service.get(ctx, name).to_dict()


@router.patch("/{name}", dependencies=[WRITE],
              summary="Turn monitoring on or off, or serve another model or worker count")
def update(name: str, body: UpdateEndpoint, ctx: Ctx) -> dict[str, Any]:
    return service.update(ctx, name, monitoring=body.monitoring, model=body.model,
                          workers=body.workers).to_dict()


@router.delete("/{name}", status_code=204, dependencies=[WRITE],
               summary="Stop the endpoint and forget it")
def delete(name: str, ctx: Ctx) -> Response:
    service.delete(ctx, name)
    return Response(status_code=204)


@router.post("/{name}/start", dependencies=[WRITE], summary="Start a stopped endpoint")
def start(name: str, ctx: Ctx, wait: bool = False, timeout_s: Timeout = 180.0) -> dict[str, Any]:
    return service.start(ctx, name, wait=wait, timeout_s=timeout_s).to_dict()


@router.post("/{name}/stop", dependencies=[WRITE], summary="Stop an endpoint's process")
def stop(name: str, ctx: Ctx) -> dict[str, Any]:
    return service.stop(ctx, name).to_dict()


@router.get("/{name}/keys", dependencies=[KEYS], summary="The primary and secondary keys")
def keys(name: str, ctx: Ctx) -> dict[str, str]:
    return service.get_keys(ctx, name)


@router.post("/{name}/regen-key", dependencies=[KEYS],
             summary="Replace one key; the old one stops working at once")
def regen_key(name: str, body: RegenerateKey, ctx: Ctx) -> dict[str, str]:
    return service.regen_key(ctx, name, body.key)


@router.post("/{name}/token", dependencies=[KEYS],
             summary="A short-lived token for a token-auth endpoint")
def token(name: str, ctx: Ctx) -> dict[str, Any]:
    return service.get_token(ctx, name)


@router.get("/{name}/logs", dependencies=[READ],
            summary="Scoring request records: the last `tail`, or those after `since`")
def logs(name: str, ctx: Ctx, tail: Annotated[int, Query(ge=1, le=10_000)] = 100,
         since: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> dict[str, Any]:
    """``offset`` is where to continue from: pass it back as ``since`` to follow."""
    if since is None:
        records, offset = service.logs(ctx, name, tail)
    else:
        records, offset = service.logs_since(ctx, name, since)
    return {"items": records, "offset": offset}


@router.get("/{name}/metrics", dependencies=[READ],
            summary="Per-minute requests, failures and latency percentiles")
def metrics(name: str, ctx: Ctx,
            minutes: Annotated[int, Query(ge=1, le=7 * 24 * 60)] = 60) -> dict[str, Any]:
    return {"items": service.metrics(ctx, name, minutes)}
