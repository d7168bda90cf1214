"""The run store: experiments, runs and their child runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from slipway.core.entities import Experiment, Run
from slipway.core.errors import NotFound
from slipway.store.tables import experiments as ex
from slipway.store.tables import runs as rt

_UPDATABLE = frozenset({
    "status", "display_name", "params", "metrics", "properties", "score", "error",
    "model_artifact", "model_sha256", "charts_artifact", "cancel_requested", "worker",
    "started_at", "ended_at", "settings", "heartbeat_at", "attempts", "max_retries"})


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _run(row: Any) -> Run:
    created = _aware(row.created_at)
    assert created is not None
    return Run(
        id=row.id, experiment=row.experiment, parent_id=row.parent_id, kind=row.kind,
        status=row.status, display_name=row.display_name, settings=row.settings,
        params=row.params, metrics=row.metrics, properties=row.properties, score=row.score,
        error=row.error, model_artifact=row.model_artifact, model_sha256=row.model_sha256,
        charts_artifact=row.charts_artifact, cancel_requested=row.cancel_requested,
        worker=row.worker, created_at=created, started_at=_aware(row.started_at),
        ended_at=_aware(row.ended_at), heartbeat_at=_aware(row.heartbeat_at),
        attempts=row.attempts, max_retries=row.max_retries)


def _select() -> sa.Select[Any]:
    return sa.select(rt, ex.c.name.label("experiment")).join(ex, ex.c.id == rt.c.experiment_id)


class RunStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _experiment_id(self, conn: sa.Connection, name: str) -> int:
        found = conn.execute(sa.select(ex.c.id).where(ex.c.name == name)).scalar()
        if found is not None:
            return int(found)
        try:
            with conn.begin_nested():
                result = conn.execute(ex.insert().values(name=name, created_at=datetime.now(UTC)))
                key = result.inserted_primary_key
                assert key is not None
                return int(key[0])
        except sa.exc.IntegrityError:  # created concurrently: use theirs
            return int(conn.execute(sa.select(ex.c.id).where(ex.c.name == name)).scalar_one())

    def create_run(self, run_id: str, *, experiment: str, kind: str, status: str,
                   display_name: str = "", settings: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None, parent_id: str | None = None,
                   started: bool = False, max_retries: int = 0) -> Run:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(rt.insert().values(
                id=run_id, experiment_id=self._experiment_id(conn, experiment),
                parent_id=parent_id, kind=kind, status=status, display_name=display_name,
                settings=settings or {}, params=params or {}, metrics={}, properties={},
                cancel_requested=False, created_at=now, started_at=now if started else None,
                attempts=0, max_retries=max_retries))
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(_select().where(rt.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"run '{run_id}' does not exist", code="run_not_found",
                           hint="see `slipway runs list`")
        return _run(row)

    def list_runs(self, *, experiment: str | None = None, parent_id: str | None = None,
                  top_level: bool = True, limit: int = 100) -> list[Run]:
        query = _select().order_by(rt.c.created_at.desc(), rt.c.id.desc()).limit(limit)
        if experiment is not None:
            query = query.where(ex.c.name == experiment)
        if parent_id is not None:
            query = query.where(rt.c.parent_id == parent_id)
        elif top_level:
            query = query.where(rt.c.parent_id.is_(None))
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query).all()]

    def children(self, parent_id: str) -> list[Run]:
        query = _select().where(rt.c.parent_id == parent_id).order_by(rt.c.created_at, rt.c.id)
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query).all()]

    def update_run(self, run_id: str, *, only_if_status: tuple[str, ...] | None = None,
                   **fields: Any) -> bool:
        """Update fields; with ``only_if_status`` the update happens only from
        those statuses (an atomic transition). Returns whether a row changed."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update run fields {sorted(unknown)}")
        query = rt.update().where(rt.c.id == run_id).values(**fields)
        if only_if_status is not None:
            query = query.where(rt.c.status.in_(only_if_status))
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount > 0

    def claim_next(self, worker: str, kinds: tuple[str, ...] = ("automl",)) -> Run | None:
        """Take the oldest queued top-level run for ``worker`` (Queued -> Running).
        On PostgreSQL concurrent workers skip each other's rows (SKIP LOCKED);
        on SQLite the conditional update is the claim. None when nothing waits."""
        for _ in range(5):
            with self.engine.begin() as conn:
                query = (sa.select(rt.c.id).where(rt.c.status == "Queued",
                                                  rt.c.parent_id.is_(None), rt.c.kind.in_(kinds))
                         .order_by(rt.c.created_at, rt.c.id).limit(1))
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                run_id = conn.execute(query).scalar()
                if run_id is None:
                    return None
                now = datetime.now(UTC)
                claimed = conn.execute(
                    rt.update().where(rt.c.id == run_id, rt.c.status == "Queued")
                    .values(status="Running", worker=worker, started_at=now, heartbeat_at=now,
                            attempts=rt.c.attempts + 1)).rowcount
            if claimed:
                return self.get_run(run_id)
        return None

    def claim(self, run_id: str, worker: str) -> bool:
        """Claim one specific queued run (Queued -> Running)."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            return conn.execute(
                rt.update().where(rt.c.id == run_id, rt.c.status.in_(("Queued", "NotStarted")))
                .values(status="Running", worker=worker, started_at=now, heartbeat_at=now,
                        attempts=rt.c.attempts + 1)).rowcount > 0

    def heartbeat(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(rt.update().where(rt.c.id == run_id, rt.c.status == "Running")
                         .values(heartbeat_at=datetime.now(UTC)))

    def running(self) -> list[Run]:
        query = _select().where(rt.c.status == "Running", rt.c.parent_id.is_(None))
        with self.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query).all()]

    def delete_children(self, parent_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(rt.delete().where(rt.c.parent_id == parent_id))

    def request_cancel(self, run_id: str) -> None:
        self.get_run(run_id)
        with self.engine.begin() as conn:
            conn.execute(rt.update().where(rt.c.id == run_id).values(cancel_requested=True))

    def cancel_requested(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(sa.select(rt.c.cancel_requested)
                                     .where(rt.c.id == run_id)).scalar())

    def list_experiments(self) -> list[Experiment]:
        count = sa.func.count(rt.c.id).filter(rt.c.parent_id.is_(None))
        query = (sa.select(ex.c.name, ex.c.created_at, count.label("n"))
                 .outerjoin(rt, rt.c.experiment_id == ex.c.id)
                 .group_by(ex.c.id, ex.c.name, ex.c.created_at).order_by(ex.c.name))
        with self.engine.connect() as conn:
            return [Experiment(name=r.name, created_at=_aware(r.created_at) or datetime.now(UTC),
                               num_runs=r.n) for r in conn.execute(query).all()]
