"""``/api/v1/models``: register from a run, list, show, versions, tag, download, and
export to MLflow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from slipway.api.auth import requires, workspace
from slipway.api.routers import archives
from slipway.api.schemas import MAX_INT, ArchiveFormat, RegisterModel, UpdateModel
from slipway.services import models as service
from slipway.services.identities import Action
from slipway.services.workspace import WorkspaceContext

router = APIRouter(prefix="/models", tags=["models"])
Ctx = Annotated[WorkspaceContext, Depends(workspace)]
VersionNumber = Annotated[int, PathParam(ge=1, le=MAX_INT)]
Version = Annotated[int | None, Query(ge=1, le=MAX_INT, description="default: the latest")]
READ, WRITE = requires(Action.MODELS_READ), requires(Action.MODELS_WRITE)


@router.post("", status_code=201, dependencies=[WRITE], summary="Register a run's model")
def register(body: RegisterModel, ctx: Ctx) -> dict[str, Any]:
    return service.register(ctx, body.run_id, body.name, child=body.child,
                            description=body.description, tags=body.tags).to_dict()


@router.get("", dependencies=[READ], summary="Registered models, latest version of each")
def list_models(ctx: Ctx) -> dict[str, Any]:
    return {"items": [m.to_dict() for m in ctx.models.latest_versions()]}


@router.get("/{name}", dependencies=[READ], summary="The latest version of a model")
def show(name: str, ctx: Ctx) -> dict[str, Any]:
    return ctx.models.get_version(name).to_dict()


@router.get("/{name}/versions", dependencies=[READ], summary="Every version of a model")
def versions(name: str, ctx: Ctx) -> dict[str, Any]:
    found = ctx.models.list_versions(name)
    if not found:
        ctx.models.get_version(name)  # names the missing model (404)
    return {"items": [m.to_dict() for m in found]}


@router.get("/{name}/versions/{version}", dependencies=[READ], summary="A model version")
def show_version(name: str, version: VersionNumber, ctx: Ctx) -> dict[str, Any]:
    return ctx.models.get_version(name, version).to_dict()


@router.patch("/{name}/versions/{version}", dependencies=[WRITE],
              summary="Add tags to a model version, or change its description")
def update_version(name: str, version: VersionNumber, body: UpdateModel,
                   ctx: Ctx) -> dict[str, Any]:
    return service.set_tags(ctx, f"{name}:{version}", body.tags, body.description).to_dict()


@router.get("/{name}/download", dependencies=[READ], response_class=FileResponse,
            summary="The model directory as a zip or tar.gz archive (hash checked)")
def download(name: str, ctx: Ctx, version: Version = None,
             format: ArchiveFormat = ArchiveFormat.zip) -> FileResponse:
    model = ctx.models.get_version(name, version)
    return archives.send_folder(ctx, lambda _: service.model_path(ctx, model.ref), format,
                                f"{model.name}-{model.version}")


@router.get("/{name}/mlflow", dependencies=[READ], response_class=FileResponse,
            summary="The model version in the MLflow format, as a zip "
                    "(needs slipway[mlflow] on the server)")
def export_mlflow(name: str, ctx: Ctx, version: Version = None) -> FileResponse:
    """Unpack it and ``mlflow models serve -m FOLDER``."""
    model = ctx.models.get_version(name, version)
    service.require_mlflow(on_server=True)
    return archives.send_folder(ctx, lambda staging: service.export_mlflow(ctx, model.ref, staging),
                                ArchiveFormat.zip, f"{model.name}-{model.version}-mlflow")
