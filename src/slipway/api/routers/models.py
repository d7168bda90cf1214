"""``/api/v1/models``: register from a run, list, show, versions, tag, download."""

from __future__ import annotations

import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from slipway.api.auth import requires, workspace
from slipway.api.schemas import MAX_INT, ArchiveFormat, RegisterModel, UpdateModel
from slipway.services import models as service
from slipway.services.identities import Action
from slipway.services.workspace import WorkspaceContext

router = APIRouter(prefix="/models", tags=["models"])
Ctx = Annotated[WorkspaceContext, Depends(workspace)]
VersionNumber = Annotated[int, PathParam(ge=1, le=MAX_INT)]
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
def download(name: str, ctx: Ctx,
             version: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
             format: ArchiveFormat = ArchiveFormat.zip) -> FileResponse:
    model = ctx.models.get_version(name, version)
    source = service.model_path(ctx, model.ref)
    staged = _archive(ctx, source, format)
    suffix = ".zip" if format is ArchiveFormat.zip else ".tar.gz"
    media = "application/zip" if format is ArchiveFormat.zip else "application/gzip"
    return FileResponse(staged, media_type=media,
                        filename=f"{model.name}-{model.version}{suffix}",
                        background=BackgroundTask(shutil.rmtree, staged.parent, True))


def _archive(ctx: WorkspaceContext, source: Path, format: ArchiveFormat) -> Path:
    """Write the archive in a fresh staging folder, removed once it is sent."""
    folder = ctx.artifacts.root / "tmp" / f"download-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        if format is ArchiveFormat.zip:
            return Path(shutil.make_archive(str(folder / "model"), "zip", source))
        target = folder / "model.tar.gz"
        with tarfile.open(target, "w:gz") as tar:
            tar.add(source, arcname="model")
        return target
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
