"""``ws.datasets``: register, get, list and read datasets, in a local workspace
(``Datasets``) or on a server (``RemoteDatasets``); both hand back ``Dataset``."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.client.config import is_url
from slipway.core.entities import DatasetSummary, DatasetVersion
from slipway.core.errors import IntegrityError, InvalidInput, NotFound
from slipway.services import datasets as service

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from slipway.client.http import Http
    from slipway.services.workspace import WorkspaceContext


class Dataset:
    """One version of a registered dataset.

    >>> ds = ws.datasets.get("bankmarketing", version=1)
    >>> df = ds.to_pandas()
    """

    def __init__(self, datasets: Datasets | RemoteDatasets, entity: DatasetVersion,
                 created: bool = True) -> None:
        self._datasets = datasets
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
        return self._datasets.load_table(self.name, self.version)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    def preview(self, rows: int = 10) -> list[dict[str, Any]]:
        return self._datasets.preview(self.name, self.version, rows)

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
        return Dataset(self, entity, created)

    def get(self, name: str, version: int | None = None) -> Dataset:
        """A version of a dataset; the latest when ``version`` is None."""
        return Dataset(self, service.get(self._ctx, name, version))

    def list(self, include_archived: bool = False) -> builtins.list[DatasetSummary]:
        return service.list_datasets(self._ctx, include_archived)

    def versions(self, name: str) -> builtins.list[Dataset]:
        return [Dataset(self, v) for v in service.versions(self._ctx, name)]

    def unregister(self, name: str) -> None:
        """Archive the dataset: hidden from lists, data kept (see ``restore``)."""
        service.unregister(self._ctx, name)

    def restore(self, name: str) -> None:
        service.restore(self._ctx, name)

    def consume_snippet(self, name: str, version: int | None = None) -> str:
        return service.consume_snippet(self._ctx, name, version)

    def load_table(self, name: str, version: int | None = None) -> pa.Table:
        return service.load_table(self._ctx, name, version)

    def preview(self, name: str, version: int | None = None,
                rows: int = 10) -> builtins.list[dict[str, Any]]:
        return service.preview(self._ctx, name, version, rows)


class RemoteDatasets:
    """``ws.datasets`` of a remote workspace: the same calls over the HTTP API."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def _dataset(self, data: dict[str, Any], created: bool = True) -> Dataset:
        return Dataset(self, DatasetVersion.from_dict(data), created)

    def register(self, name: str, source: str | Path, description: str = "") -> Dataset:
        """Upload a CSV/Parquet file (or have the server fetch an http(s) URL)."""
        if is_url(source):
            data = self._http.post("/datasets", {"name": name, "url": str(source),
                                                 "description": description})
            return self._dataset(data, bool(data.get("created", True)))
        path = Path(source).expanduser()
        if not path.exists():  # the same answer a local workspace gives
            raise NotFound(f"file not found: {source}",
                           hint="Check the path; relative paths are resolved from the current "
                                "directory.")
        if path.is_dir():
            raise InvalidInput(f"{source} is a directory, not a file",
                               hint="Pass the path of one CSV or Parquet file inside it.")
        with path.open("rb") as file:
            response = self._http.request(
                "POST", "/datasets/upload", retry=False,
                data={"name": name, "description": description},
                files={"file": (path.name, file, "application/octet-stream")})
        data = response.json()
        return self._dataset(data, bool(data.get("created", True)))

    def get(self, name: str, version: int | None = None) -> Dataset:
        return self._dataset(self._http.get(f"/datasets/{name}", version=version))

    def list(self, include_archived: bool = False) -> builtins.list[DatasetSummary]:
        items = self._http.items("/datasets", include_archived=include_archived)
        return [DatasetSummary.from_dict(d) for d in items]

    def versions(self, name: str) -> builtins.list[Dataset]:
        return [self._dataset(v) for v in self._http.items(f"/datasets/{name}/versions")]

    def unregister(self, name: str) -> None:
        self._http.post(f"/datasets/{name}/unregister")

    def restore(self, name: str) -> None:
        self._http.post(f"/datasets/{name}/restore")

    def consume_snippet(self, name: str, version: int | None = None) -> str:
        """The snippet a local workspace gives, pointed at this server."""
        dataset = self.get(name, version)
        return (
            "from slipway import Workspace\n\n"
            f"ws = Workspace({self._http.url!r})  # credentials: slipway login, or "
            "SLIPWAY_CLIENT_ID/SLIPWAY_CLIENT_SECRET\n"
            f"dataset = ws.datasets.get({dataset.name!r}, version={dataset.version})\n"
            "df = dataset.to_pandas()\n"
            "print(df.shape)\n"
        )

    def load_table(self, name: str, version: int | None = None) -> pa.Table:
        """Download the version's Parquet snapshot and check its sha256."""
        import tempfile

        import pyarrow.parquet as pq

        from slipway.store.artifacts import sha256_file

        dataset = self.get(name, version).entity
        with tempfile.TemporaryDirectory(prefix="slipway-") as folder:
            target = self._http.download(f"/datasets/{name}/data",
                                         Path(folder) / "data.parquet", version=dataset.version)
            if sha256_file(target) != dataset.sha256:
                raise IntegrityError(f"the downloaded data of {name} does not match its sha256",
                                     hint="download again; if it persists, the server's copy "
                                          "is damaged")
            return pq.read_table(target)

    def preview(self, name: str, version: int | None = None,
                rows: int = 10) -> builtins.list[dict[str, Any]]:
        found: builtins.list[dict[str, Any]] = self._http.get(
            f"/datasets/{name}/preview", version=version, rows=rows)["rows"]
        return found
