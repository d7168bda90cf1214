"""``/api/v1/datasets``: register (upload or URL), list, show, versions, preview,
data, unregister and restore."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from slipway.api.auth import api_state, requires, workspace
from slipway.api.schemas import MAX_INT, RegisterDatasetFromUrl
from slipway.api.uploads import receive_upload
from slipway.core.entities import DatasetVersion
from slipway.core.errors import InvalidInput
from slipway.services import datasets as service
from slipway.services.identities import Action
from slipway.services.workspace import WorkspaceContext

router = APIRouter(prefix="/datasets", tags=["datasets"])
Ctx = Annotated[WorkspaceContext, Depends(workspace)]
Version = Annotated[int | None, Query(ge=1, le=MAX_INT,
                                      description="a version; the latest when left out")]
READ, WRITE = requires(Action.DATASETS_READ), requires(Action.DATASETS_WRITE)
UPLOAD_PATH = "/api/v1/datasets/upload"

_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["name", "file"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "maxLength": 128},
                   "description": {"type": "string", "maxLength": 4096},
                   "file": {"type": "string", "format": "binary",
                            "description": "CSV (, ; tab |) or Parquet"}}}}}}}


def _registered(response: Response, version: DatasetVersion, created: bool) -> dict[str, Any]:
    response.status_code = 201 if created else 200
    return {**version.to_dict(), "created": created}


@router.post("/upload", status_code=201, dependencies=[WRITE], openapi_extra=_UPLOAD_BODY,
             summary="Register an uploaded file as the next version of a dataset")
async def upload(request: Request, response: Response, ctx: Ctx) -> dict[str, Any]:
    """Streams the file to the workspace's staging area (never whole in memory),
    then registers it; identical content answers 200 with the existing version."""
    limit = api_state(request).settings.max_upload_bytes
    with ctx.artifacts.staging_dir() as folder:
        received = await receive_upload(request, folder, file_field="file",
                                        text_fields={"name", "description"}, max_file_bytes=limit)
        name = received.fields.get("name", "")
        if not name:
            raise InvalidInput("field name: required", code="validation_failed",
                               details={"field": "name"})
        path = received.path
        assert path is not None
        version, created = await run_in_threadpool(
            lambda: service.register(ctx, name, path, received.fields.get("description", ""),
                                     source_label=f"upload:{received.filename or 'file'}"))
    return _registered(response, version, created)


@router.post("", status_code=201, dependencies=[WRITE],
             summary="Register the file at a URL as the next version of a dataset")
def register_url(body: RegisterDatasetFromUrl, response: Response, ctx: Ctx) -> dict[str, Any]:
    version, created = service.register(ctx, body.name, str(body.url), body.description)
    return _registered(response, version, created)


@router.get("", dependencies=[READ], summary="List datasets (latest version of each)")
def list_datasets(ctx: Ctx, include_archived: bool = False) -> dict[str, Any]:
    return {"items": [d.to_dict() for d in service.list_datasets(ctx, include_archived)]}


@router.get("/{name}", dependencies=[READ], summary="A dataset version, with its profile")
def show(name: str, ctx: Ctx, version: Version = None) -> dict[str, Any]:
    return service.get(ctx, name, version).to_dict()


@router.get("/{name}/versions", dependencies=[READ], summary="Every version (no profiles)")
def versions(name: str, ctx: Ctx) -> dict[str, Any]:
    return {"items": [v.to_dict(with_profile=False) for v in service.versions(ctx, name)]}


@router.get("/{name}/preview", dependencies=[READ], summary="The first rows")
def preview(name: str, ctx: Ctx, version: Version = None,
            rows: Annotated[int, Query(ge=1, le=1000)] = 10) -> dict[str, Any]:
    dataset = service.get(ctx, name, version)
    return {"name": dataset.name, "version": dataset.version,
            "rows": service.preview(ctx, name, dataset.version, rows)}


@router.get("/{name}/data", dependencies=[READ], response_class=FileResponse,
            summary="The version's Parquet snapshot (hash checked)")
def data(name: str, ctx: Ctx, version: Version = None) -> FileResponse:
    dataset = service.get(ctx, name, version)
    path = service.snapshot_path(ctx, name, dataset.version)
    return FileResponse(path, media_type="application/vnd.apache.parquet",
                        filename=f"{dataset.name}-{dataset.version}.parquet")


@router.get("/{name}/consume", dependencies=[READ], summary="A Python snippet that loads it")
def consume(name: str, ctx: Ctx, version: Version = None) -> dict[str, Any]:
    return {"snippet": service.consume_snippet(ctx, name, version)}


@router.post("/{name}/unregister", dependencies=[WRITE],
             summary="Archive: hidden from lists, data kept")
def unregister(name: str, ctx: Ctx) -> dict[str, Any]:
    service.unregister(ctx, name)
    return service.get(ctx, name).to_dict(with_profile=False)


@router.post("/{name}/restore", dependencies=[WRITE], summary="Bring an archived dataset back")
def restore(name: str, ctx: Ctx) -> dict[str, Any]:
    service.restore(ctx, name)
    return service.get(ctx, name).to_dict(with_profile=False)
