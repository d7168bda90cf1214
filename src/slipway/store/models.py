"""The model registry store: named, versioned model directories."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.entities import ModelVersion
from slipway.core.errors import Conflict, NotFound
from slipway.store.tables import models as mt


def _entity(row: Any) -> ModelVersion:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return ModelVersion(
        name=row.name, version=row.version, description=row.description, tags=row.tags,
        task=row.task, algorithm=row.algorithm, run_id=row.run_id,
        parent_run_id=row.parent_run_id, dataset=row.dataset,
        dataset_version=row.dataset_version, artifact=row.artifact, sha256=row.sha256,
        signature=row.signature, metrics=row.metrics, created_at=created)


class ModelStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_version(self, name: str, **fields: Any) -> ModelVersion:
        try:
            with self.engine.begin() as conn:
                latest = conn.execute(sa.select(sa.func.max(mt.c.version))
                                      .where(mt.c.name == name)).scalar()
                version = (latest or 0) + 1
                conn.execute(mt.insert().values(name=name, version=version,
                                                created_at=datetime.now(UTC), **fields))
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"model '{name}' was registered by someone else at the same time",
                           hint="run the command again") from exc
        return self.get_version(name, version)

    def get_version(self, name: str, version: int | None = None) -> ModelVersion:
        query = sa.select(mt).where(mt.c.name == name)
        query = (query.where(mt.c.version == version) if version is not None
                 else query.order_by(mt.c.version.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            versions = [m.version for m in self.list_versions(name)]
            if not versions:
                raise NotFound(f"model '{name}' does not exist", code="model_not_found",
                               hint="see `slipway models list`")
            raise NotFound(f"model '{name}' has no version {version}",
                           code="model_version_not_found",
                           hint=f"versions: {', '.join(map(str, versions))}")
        return _entity(row)

    def list_versions(self, name: str | None = None) -> list[ModelVersion]:
        query = sa.select(mt).order_by(mt.c.name, mt.c.version)
        if name is not None:
            query = query.where(mt.c.name == name)
        with self.engine.connect() as conn:
            return [_entity(r) for r in conn.execute(query).all()]

    def latest_versions(self) -> list[ModelVersion]:
        latest = (sa.select(mt.c.name, sa.func.max(mt.c.version).label("v"))
                  .group_by(mt.c.name).subquery())
        query = (sa.select(mt).join(latest, sa.and_(latest.c.name == mt.c.name,
                                                    latest.c.v == mt.c.version))
                 .order_by(mt.c.name))
        with self.engine.connect() as conn:
            return [_entity(r) for r in conn.execute(query).all()]

    def update(self, name: str, version: int, **fields: Any) -> ModelVersion:
        with self.engine.begin() as conn:
            conn.execute(mt.update().where(mt.c.name == name, mt.c.version == version)
                         .values(**fields))
        return self.get_version(name, version)
