"""``ws.datasets``: register, get, list and read datasets."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.core.entities import DatasetSummary, DatasetVersion
from slipway.services import datasets as service

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from slipway.services.workspace import WorkspaceContext


class Dataset:
    """One version of a registered dataset.

    >>> ds = ws.datasets.get("bankmarketing", version=1)
    >>> df = ds.to_pandas()
    """

    def __init__(self, ctx: WorkspaceContext, entity: DatasetVersion,
                 created: bool = True) -> None:
        self._ctx = ctx
        self.entity = entity
        self.created = created

    name = property(lambda self: self.entity.name)
    version = property(lambda self: self.entity.version)
    num_rows = property(lambda self: self.entity.num_rows)
    num_columns = property(lambda self: self.entity.num_columns)
    columns = property(lambda self: self.entity.columns)
    profile = property(lambda self: self.entity.profile)
    sha256 = property(lambda self: self.entity.sha256)

    def to_arrow(self) -> pa.Table:
        return service.load_table(self._ctx, self.name, self.version)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def preview(self, rows: int = 10) -> list[dict[str, Any]]:
        return service.preview(self._ctx, self.name, self.version, rows)

    def to_dict(self) -> dict[str, Any]:
        return self.entity.to_dict()

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, version={self.version}, "
                f"rows={self.num_rows}, columns={self.num_columns})")


class Datasets:
    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def register(self, name: str, source: str | Path, description: str = "") -> Dataset:
        """Register a CSV/Parquet file or an http(s) URL as the next version of
        ``name``. Identical content returns the existing version
        (``dataset.created`` is then False)."""
        entity, created = service.register(self._ctx, name, source, description)
        return Dataset(self._ctx, entity, created)

    def get(self, name: str, version: int | None = None) -> Dataset:
        """A version of a dataset; the latest when ``version`` is None."""
        return Dataset(self._ctx, service.get(self._ctx, name, version))

    def list(self, include_archived: bool = False) -> builtins.list[DatasetSummary]:
        return service.list_datasets(self._ctx, include_archived)

    def versions(self, name: str) -> builtins.list[Dataset]:
        return [Dataset(self._ctx, v) for v in service.versions(self._ctx, name)]

    def unregister(self, name: str) -> None:
        """Archive the dataset: hidden from lists, data kept (see ``restore``)."""
        service.unregister(self._ctx, name)

    def restore(self, name: str) -> None:
        service.restore(self._ctx, name)

    def consume_snippet(self, name: str, version: int | None = None) -> str:
        return service.consume_snippet(self._ctx, name, version)
