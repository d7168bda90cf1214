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


class RunStatus:
    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})


@dataclass(frozen=True)
class Experiment:
    name: str
    created_at: datetime
    num_runs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "created_at": self.created_at.isoformat(),
                "num_runs": self.num_runs}


@dataclass(frozen=True)
class Run:
    id: str
    experiment: str
    parent_id: str | None
    kind: str  # automl | trial | ensemble
    status: str
    display_name: str
    settings: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]
    properties: dict[str, Any]
    score: float | None
    error: str | None
    model_artifact: str | None
    model_sha256: str | None
    charts_artifact: str | None
    cancel_requested: bool
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    heartbeat_at: datetime | None = None
    attempts: int = 0
    max_retries: int = 0

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at or datetime.now(self.started_at.tzinfo)
        return round((end - self.started_at).total_seconds(), 3)

    @property
    def is_terminal(self) -> bool:
        return self.status in RunStatus.TERMINAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "experiment": self.experiment,
            "parent_run_id": self.parent_id,
            "kind": self.kind,
            "status": self.status,
            "algorithm" if self.kind != "automl" else "display_name": self.display_name,
            "settings": self.settings,
            "params": self.params,
            "metrics": self.metrics,
            "properties": self.properties,
            "score": self.score,
            "error": self.error,
            "has_model": self.model_artifact is not None,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_s": self.duration_s,
            "attempts": self.attempts,
            "max_retries": self.max_retries,
        }


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    description: str
    tags: dict[str, str]
    task: str
    algorithm: str
    run_id: str | None
    parent_run_id: str | None
    dataset: str | None
    dataset_version: int | None
    artifact: str
    sha256: str
    signature: dict[str, Any]
    metrics: dict[str, Any]
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "model": self.ref,
            "description": self.description, "tags": self.tags, "task": self.task,
            "algorithm": self.algorithm, "sha256": self.sha256,
            "lineage": {"run_id": self.run_id, "parent_run_id": self.parent_run_id,
                        "dataset": self.dataset, "dataset_version": self.dataset_version},
            "signature": self.signature, "metrics": self.metrics,
            "created_at": self.created_at.isoformat(),
        }


class EndpointState:
    TRANSITIONING = "Transitioning"
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    FAILED = "Failed"
    STOPPED = "Stopped"


@dataclass(frozen=True)
class Endpoint:
    name: str
    model_name: str
    model_version: int
    state: str
    desired_running: bool
    auth_mode: str
    host: str
    port: int
    workers: int
    monitoring: bool
    pid: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def base_uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def scoring_uri(self) -> str:
        return f"{self.base_uri}/score"

    @property
    def swagger_uri(self) -> str:
        return f"{self.base_uri}/swagger.json"

    @property
    def model(self) -> str:
        return f"{self.model_name}:{self.model_version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "state": self.state, "scoring_uri": self.scoring_uri,
            "swagger_uri": self.swagger_uri, "docs_uri": f"{self.base_uri}/docs",
            "auth_mode": self.auth_mode, "model": self.model, "monitoring": self.monitoring,
            "workers": self.workers, "port": self.port, "pid": self.pid, "error": self.error,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }
