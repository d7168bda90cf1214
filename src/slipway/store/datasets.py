"""The dataset store: versions of named tabular datasets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.entities import DatasetSummary, DatasetVersion
from slipway.core.errors import Conflict, NotFound
from slipway.store.tables import dataset_versions as dv
from slipway.store.tables import datasets as ds


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _version(row: Any, latest: int | None = None) -> DatasetVersion:
    return DatasetVersion(
        name=row.name, version=row.version, description=row.description, source=row.source,
        source_format=row.source_format, sha256=row.sha256, artifact=row.artifact,
        size_bytes=row.size_bytes, num_rows=row.num_rows, num_columns=row.num_columns,
        columns=row.columns, profile=row.profile, created_at=_aware(row.created_at),
        archived=row.archived, latest_version=latest,
    )


_VERSION_COLUMNS = [ds.c.name, ds.c.archived, dv.c.version, dv.c.description, dv.c.source,
                    dv.c.source_format, dv.c.sha256, dv.c.artifact, dv.c.size_bytes,
                    dv.c.num_rows, dv.c.num_columns, dv.c.columns, dv.c.profile, dv.c.created_at]


class DatasetStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find_version_by_sha(self, name: str, sha256: str) -> DatasetVersion | None:
        query = (sa.select(*_VERSION_COLUMNS).join(dv, dv.c.dataset_id == ds.c.id)
                 .where(ds.c.name == name, dv.c.sha256 == sha256)
                 .order_by(dv.c.version).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _version(row) if row else None

    def create_version(self, name: str, *, description: str, source: str, source_format: str,
                       sha256: str, artifact: str, size_bytes: int, num_rows: int,
                       num_columns: int, columns: list[dict[str, Any]],
                       profile: dict[str, Any]) -> DatasetVersion:
        """Add the next version of ``name`` (creating the dataset if new) in one
        transaction. Registering again un-archives an archived dataset."""
        now = _now()
        try:
            with self.engine.begin() as conn:
                dataset = conn.execute(
                    sa.select(ds.c.id, ds.c.description).where(ds.c.name == name)
                    .with_for_update()).first()
                if dataset is None:
                    dataset_id = conn.execute(ds.insert().values(
                        name=name, description=description, archived=False,
                        created_at=now, updated_at=now)).inserted_primary_key
                    assert dataset_id is not None
                    dataset_id = dataset_id[0]
                else:
                    dataset_id = dataset.id
                    values: dict[str, Any] = {"archived": False, "updated_at": now}
                    if description:
                        values["description"] = description
                    conn.execute(ds.update().where(ds.c.id == dataset_id).values(**values))
                latest = conn.execute(sa.select(sa.func.max(dv.c.version))
                                      .where(dv.c.dataset_id == dataset_id)).scalar()
                conn.execute(dv.insert().values(
                    dataset_id=dataset_id, version=(latest or 0) + 1, description=description,
                    source=source, source_format=source_format, sha256=sha256,
                    artifact=artifact, size_bytes=size_bytes, num_rows=num_rows,
                    num_columns=num_columns, columns=columns, profile=profile, created_at=now))
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"dataset '{name}' was registered by someone else at the same time",
                           hint="run the command again") from exc
        return self.get_version(name)

    def get_version(self, name: str, version: int | None = None) -> DatasetVersion:
        latest_q = (sa.select(sa.func.max(dv.c.version)).join(ds, dv.c.dataset_id == ds.c.id)
                    .where(ds.c.name == name).scalar_subquery())
        query = (sa.select(*_VERSION_COLUMNS, latest_q.label("latest"))
                 .join(dv, dv.c.dataset_id == ds.c.id).where(ds.c.name == name))
        query = query.where(dv.c.version == (version if version is not None else latest_q))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            self._raise_missing(name, version)
            raise AssertionError("unreachable")
        return _version(row, latest=row.latest)

    def _raise_missing(self, name: str, version: int | None) -> None:
        versions = [v.version for v in self.list_versions(name)] if self.exists(name) else []
        if not versions:
            raise NotFound(f"dataset '{name}' does not exist", code="dataset_not_found",
                           hint="see `slipway datasets list`")
        raise NotFound(f"dataset '{name}' has no version {version}",
                       code="dataset_version_not_found",
                       hint=f"versions: {', '.join(map(str, versions))}")

    def exists(self, name: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(ds.c.id).where(ds.c.name == name)).first() is not None

    def list_versions(self, name: str) -> list[DatasetVersion]:
        query = (sa.select(*_VERSION_COLUMNS).join(dv, dv.c.dataset_id == ds.c.id)
                 .where(ds.c.name == name).order_by(dv.c.version))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            self._raise_missing(name, None)
        return [_version(r) for r in rows]

    def list_datasets(self, include_archived: bool = False) -> list[DatasetSummary]:
        latest = (sa.select(dv.c.dataset_id, sa.func.max(dv.c.version).label("v"))
                  .group_by(dv.c.dataset_id).subquery())
        query = (sa.select(ds, dv.c.version, dv.c.num_rows, dv.c.num_columns)
                 .join(latest, latest.c.dataset_id == ds.c.id)
                 .join(dv, sa.and_(dv.c.dataset_id == ds.c.id, dv.c.version == latest.c.v))
                 .order_by(ds.c.name))
        if not include_archived:
            query = query.where(ds.c.archived.is_(False))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [DatasetSummary(name=r.name, description=r.description, latest_version=r.version,
                               num_rows=r.num_rows, num_columns=r.num_columns,
                               archived=r.archived, created_at=_aware(r.created_at),
                               updated_at=_aware(r.updated_at)) for r in rows]

    def set_archived(self, name: str, archived: bool) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(ds.update().where(ds.c.name == name)
                                  .values(archived=archived, updated_at=_now()))
        if result.rowcount == 0:
            self._raise_missing(name, None)
