"""Domain entities: what stores return and services, the SDK and the CLI use.
Plain dataclasses with a stable ``to_dict`` (the JSON shape of ``--output json``
and of the REST API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DatasetVersion:
    name: str
    version: int
    description: str
    source: str
    source_format: str
    sha256: str
    artifact: str
    size_bytes: int
    num_rows: int
    num_columns: int
    columns: list[dict[str, Any]]
    profile: dict[str, dict[str, Any]]
    created_at: datetime
    archived: bool = False
    latest_version: int | None = None

    def to_dict(self, *, with_profile: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "source": self.source,
            "source_format": self.source_format,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "num_rows": self.num_rows,
            "num_columns": self.num_columns,
            "columns": self.columns,
            "created_at": self.created_at.isoformat(),
            "archived": self.archived,
        }
        if self.latest_version is not None:
            out["latest_version"] = self.latest_version
        if with_profile:
            out["profile"] = self.profile
        return out


@dataclass(frozen=True)
class DatasetSummary:
    name: str
    description: str
    latest_version: int
    num_rows: int
    num_columns: int
    archived: bool
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "latest_version": self.latest_version,
            "num_rows": self.num_rows,
            "num_columns": self.num_columns,
            "archived": self.archived,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
