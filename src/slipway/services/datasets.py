"""Datasets: register a file or URL as an immutable, profiled, versioned
Parquet snapshot; read it back verified."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from slipway.core.entities import DatasetSummary, DatasetVersion
from slipway.core.errors import InvalidInput
from slipway.services.workspace import WorkspaceContext

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME = 128


def validate_name(name: str, kind: str = "dataset") -> str:
    """Names become URL path segments and folder names: keep them plain."""
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"{kind} name must be 1 to {MAX_NAME} characters (got {len(name)})",
                           hint="use a short name such as 'bankmarketing'")
    if ".." in name or not _NAME.match(name):
        raise InvalidInput(f"{kind} name {name!r} is not allowed",
                           hint="use letters, digits, '.', '_' and '-', starting with a letter "
                                "or digit, and no '/' or '..'")
    return name


def _source_label(source: str | Path) -> tuple[str, str]:
    text = str(source)
    if text.startswith(("http://", "https://")):
        return text, "url"
    path = Path(text).expanduser()
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError:
        magic = b""
    return str(path.resolve()), "parquet" if magic == b"PAR1" else "csv"


def register(ctx: WorkspaceContext, name: str, source: str | Path,
             description: str = "", *, source_label: str | None = None) -> tuple[DatasetVersion, bool]:
    """Register ``source`` as the next version of ``name``.

    Returns ``(version, created)``; identical content returns the existing
    version with ``created=False``. A failure leaves no row and no artifact.
    ``source_label`` is what to record as the source (e.g. the file name of an
    upload, instead of its temporary path).
    """
    import pyarrow.parquet as pq

    from slipway.data import infer_schema, profile_table, read_table
    from slipway.store.artifacts import sha256_file

    validate_name(name)
    label, source_format = _source_label(source)
    label = source_label or label
    table = read_table(source)
    with ctx.artifacts.staging(".parquet") as staged:
        # One chunk per column so equal content always writes equal bytes.
        pq.write_table(table.combine_chunks(), staged, compression="zstd")
        existing = ctx.datasets.find_version_by_sha(name, sha256_file(staged))
        if existing is not None:
            return ctx.datasets.get_version(name, existing.version), False
        schema = infer_schema(table)
        profile = profile_table(table, schema)
        stored = ctx.artifacts.commit(staged, ".parquet")
    try:
        version = ctx.datasets.create_version(
            name, description=description, source=label, source_format=source_format,
            sha256=stored.sha256, artifact=stored.key, size_bytes=stored.size_bytes,
            num_rows=table.num_rows, num_columns=table.num_columns,
            columns=[c.to_dict() for c in schema], profile=profile)
    except BaseException:
        if stored.created:
            ctx.artifacts.discard(stored.key)
        raise
    return version, True


def get(ctx: WorkspaceContext, name: str, version: int | None = None) -> DatasetVersion:
    return ctx.datasets.get_version(name, version)


def list_datasets(ctx: WorkspaceContext, include_archived: bool = False) -> list[DatasetSummary]:
    return ctx.datasets.list_datasets(include_archived)


def versions(ctx: WorkspaceContext, name: str) -> list[DatasetVersion]:
    return ctx.datasets.list_versions(name)


def snapshot_path(ctx: WorkspaceContext, name: str, version: int | None = None) -> Path:
    """The verified local Parquet file of a version."""
    dataset = get(ctx, name, version)
    return ctx.artifacts.path(dataset.artifact, dataset.sha256)


def load_table(ctx: WorkspaceContext, name: str, version: int | None = None) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(snapshot_path(ctx, name, version))


def preview(ctx: WorkspaceContext, name: str, version: int | None = None,
            rows: int = 10) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    from slipway.core.model_dir import json_safe

    if rows < 1:
        raise InvalidInput(f"--rows must be at least 1 (got {rows})")
    parquet = pq.ParquetFile(snapshot_path(ctx, name, version))
    batch = next(parquet.iter_batches(batch_size=rows), None)
    if batch is None:
        return []
    return [{k: json_safe(v) for k, v in row.items()} for row in batch.to_pylist()]


def unregister(ctx: WorkspaceContext, name: str) -> None:
    """Archive: hidden from lists, data kept; `restore` or a new register brings it back."""
    ctx.datasets.set_archived(name, True)


def restore(ctx: WorkspaceContext, name: str) -> None:
    ctx.datasets.set_archived(name, False)


def consume_snippet(ctx: WorkspaceContext, name: str, version: int | None = None) -> str:
    dataset = get(ctx, name, version)
    return (
        "from slipway import Workspace\n\n"
        f"ws = Workspace({str(ctx.settings.workspace)!r})  # or Workspace.from_config()\n"
        f"dataset = ws.datasets.get({dataset.name!r}, version={dataset.version})\n"
        "df = dataset.to_pandas()\n"
        "print(df.shape)\n"
    )
