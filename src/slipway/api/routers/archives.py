"""Folders sent as one archive file (a model directory, an MLflow export):
packed in a fresh staging folder under the workspace, removed once sent."""

from __future__ import annotations

import shutil
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from slipway.api.schemas import ArchiveFormat
from slipway.services.workspace import WorkspaceContext

SUFFIX = {ArchiveFormat.zip: ".zip", ArchiveFormat.tar: ".tar.gz"}
MEDIA = {ArchiveFormat.zip: "application/zip", ArchiveFormat.tar: "application/gzip"}


def send_folder(ctx: WorkspaceContext, source: Callable[[Path], Path], format: ArchiveFormat,
                filename: str, headers: dict[str, str] | None = None) -> FileResponse:
    """Answer the folder ``source(staging)`` returns as ``filename`` + suffix.

    ``source`` gets a fresh staging folder it may write into (an export) or
    ignore (a stored, hash-checked model directory)."""
    folder = ctx.artifacts.root / "tmp" / f"download-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        staged = _pack(source(folder / "source"), folder / "archive", format)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(staged, media_type=MEDIA[format], filename=filename + SUFFIX[format],
                        headers=headers, background=BackgroundTask(shutil.rmtree, folder, True))


def _pack(source: Path, base: Path, format: ArchiveFormat) -> Path:
    if format is ArchiveFormat.zip:
        return Path(shutil.make_archive(str(base), "zip", source))
    target = base.with_name(base.name + SUFFIX[format])
    with tarfile.open(target, "w:gz") as tar:
        tar.add(source, arcname="model")
    return target
