"""The endpoint store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.entities import Endpoint
from slipway.core.errors import Conflict, NotFound
from slipway.store.tables import endpoints as et

_UPDATABLE = frozenset({"model_name", "model_version", "state", "desired_running", "auth_mode",
                        "port", "workers", "monitoring", "pid", "primary_key", "secondary_key",
                        "error"})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _entity(row: Any) -> Endpoint:
    return Endpoint(name=row.name, model_name=row.model_name, model_version=row.model_version,
                    state=row.state, desired_running=row.desired_running,
                    auth_mode=row.auth_mode, host=row.host, port=row.port, workers=row.workers,
                    monitoring=row.monitoring, pid=row.pid, error=row.error,
                    created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))


class EndpointStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, **fields: Any) -> Endpoint:
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(et.insert().values(name=name, created_at=now, updated_at=now,
                                                **fields))
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"endpoint '{name}' already exists", code="endpoint_exists",
                           hint=f"choose another --name, or `slipway endpoints update {name} "
                                "--model ...`") from exc
        return self.get(name)

    def get(self, name: str) -> Endpoint:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(et).where(et.c.name == name)).first()
        if row is None:
            raise NotFound(f"endpoint '{name}' does not exist", code="endpoint_not_found",
                           hint="see `slipway endpoints list`")
        return _entity(row)

    def secrets(self, name: str) -> tuple[str | None, str | None]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(et.c.primary_key, et.c.secondary_key)
                               .where(et.c.name == name)).first()
        if row is None:
            self.get(name)
        assert row is not None
        return row.primary_key, row.secondary_key

    def list(self) -> list[Endpoint]:
        with self.engine.connect() as conn:
            return [_entity(r) for r in conn.execute(sa.select(et).order_by(et.c.name)).all()]

    def used_ports(self) -> set[int]:
        with self.engine.connect() as conn:
            return {int(p) for p in conn.execute(sa.select(et.c.port)).scalars()}

    def update(self, name: str, **fields: Any) -> Endpoint:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update endpoint fields {sorted(unknown)}")
        with self.engine.begin() as conn:
            conn.execute(et.update().where(et.c.name == name)
                         .values(updated_at=datetime.now(UTC), **fields))
        return self.get(name)

    def delete(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(et.delete().where(et.c.name == name))
