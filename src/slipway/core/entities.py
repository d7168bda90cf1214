"""Domain entities: what stores return and services, the SDK and the CLI use.
Plain dataclasses with a stable ``to_dict`` (the JSON shape of ``--output json``
and of the REST API)."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    columns: list[dict[str, Any]] = field(repr=False)
    profile: dict[str, dict[str, Any]] = field(repr=False)
    created_at: datetime
    archived: bool = False
    latest_version: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetVersion:
        """The inverse of ``to_dict`` (the REST API's shape)."""
        return dataset_version_from_dict(data)

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetSummary:
        """The inverse of ``to_dict`` (the REST API's shape)."""
        return dataset_summary_from_dict(data)

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        """The inverse of ``to_dict`` (the REST API's shape)."""
        return experiment_from_dict(data)

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

    def __repr__(self) -> str:  # settings, metrics and properties are too long to print
        score = "" if self.score is None else f", score={self.score:.4f}"
        return (f"Run(id={self.id!r}, experiment={self.experiment!r}, kind={self.kind!r}, "
                f"status={self.status!r}{score})")

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at or datetime.now(self.started_at.tzinfo)
        return round((end - self.started_at).total_seconds(), 3)

    @property
    def is_terminal(self) -> bool:
        return self.status in RunStatus.TERMINAL

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """The inverse of ``to_dict`` (the REST API's shape)."""
        return run_from_dict(data)

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
    signature: dict[str, Any] = field(repr=False)
    metrics: dict[str, Any] = field(repr=False)
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        """The inverse of ``to_dict`` (the REST API's shape)."""
        return model_version_from_dict(data)

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
        """Where clients reach it: a wildcard bind advertises this machine's name."""
        from slipway.core.net import http_url

        return http_url(self.host, self.port)

    @property
    def scoring_uri(self) -> str:
        return f"{self.base_uri}/score"

    @property
    def swagger_uri(self) -> str:
        return f"{self.base_uri}/swagger.json"

    @property
    def model(self) -> str:
        return f"{self.model_name}:{self.model_version}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoint:
        """The inverse of ``to_dict`` (the REST API's shape)."""
        return endpoint_from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "state": self.state, "scoring_uri": self.scoring_uri,
            "swagger_uri": self.swagger_uri, "docs_uri": f"{self.base_uri}/docs",
            "auth_mode": self.auth_mode, "model": self.model, "monitoring": self.monitoring,
            "workers": self.workers, "port": self.port, "pid": self.pid, "error": self.error,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
        }


# -- from_dict: the inverse of to_dict, for the SDK's HTTP client ----------------------------
# Fields that to_dict leaves out (storage keys, worker tags) come back empty: a
# remote client never reads the server's files directly.

def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _at(value: Any) -> datetime:
    found = _when(value)
    if found is None:
        raise ValueError(f"expected an ISO timestamp, got {value!r}")
    return found


def dataset_version_from_dict(data: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        name=data["name"], version=int(data["version"]), description=data.get("description", ""),
        source=data.get("source", ""), source_format=data.get("source_format", ""),
        sha256=data.get("sha256", ""), artifact="", size_bytes=int(data.get("size_bytes", 0)),
        num_rows=int(data.get("num_rows", 0)), num_columns=int(data.get("num_columns", 0)),
        columns=list(data.get("columns", [])), profile=dict(data.get("profile") or {}),
        created_at=_at(data["created_at"]), archived=bool(data.get("archived", False)),
        latest_version=data.get("latest_version"))


def dataset_summary_from_dict(data: dict[str, Any]) -> DatasetSummary:
    return DatasetSummary(
        name=data["name"], description=data.get("description", ""),
        latest_version=int(data["latest_version"]), num_rows=int(data.get("num_rows", 0)),
        num_columns=int(data.get("num_columns", 0)), archived=bool(data.get("archived", False)),
        created_at=_at(data["created_at"]), updated_at=_at(data["updated_at"]))


def experiment_from_dict(data: dict[str, Any]) -> Experiment:
    return Experiment(name=data["name"], created_at=_at(data["created_at"]),
                      num_runs=int(data.get("num_runs", 0)))


def run_from_dict(data: dict[str, Any]) -> Run:
    # ``model_artifact`` only says whether there is a model ("" when there is).
    return Run(
        id=data["run_id"], experiment=data.get("experiment", ""),
        parent_id=data.get("parent_run_id"), kind=data.get("kind", ""),
        status=data["status"],
        display_name=data.get("display_name", data.get("algorithm")) or "",
        settings=dict(data.get("settings") or {}), params=dict(data.get("params") or {}),
        metrics=dict(data.get("metrics") or {}), properties=dict(data.get("properties") or {}),
        score=data.get("score"), error=data.get("error"),
        model_artifact="" if data.get("has_model") else None, model_sha256=None,
        charts_artifact=None, cancel_requested=False, worker=None,
        created_at=_at(data["created_at"]), started_at=_when(data.get("started_at")),
        ended_at=_when(data.get("ended_at")), attempts=int(data.get("attempts", 0)),
        max_retries=int(data.get("max_retries", 0)))


def model_version_from_dict(data: dict[str, Any]) -> ModelVersion:
    lineage = data.get("lineage") or {}
    return ModelVersion(
        name=data["name"], version=int(data["version"]), description=data.get("description", ""),
        tags=dict(data.get("tags") or {}), task=data.get("task", ""),
        algorithm=data.get("algorithm", ""), run_id=lineage.get("run_id"),
        parent_run_id=lineage.get("parent_run_id"), dataset=lineage.get("dataset"),
        dataset_version=lineage.get("dataset_version"), artifact="",
        sha256=data.get("sha256", ""), signature=dict(data.get("signature") or {}),
        metrics=dict(data.get("metrics") or {}), created_at=_at(data["created_at"]))


def endpoint_from_dict(data: dict[str, Any]) -> Endpoint:
    from urllib.parse import urlsplit

    model_name, _, model_version = str(data["model"]).rpartition(":")
    where = urlsplit(data.get("scoring_uri", ""))
    return Endpoint(
        name=data["name"], model_name=model_name, model_version=int(model_version),
        state=data["state"], desired_running=data["state"] != EndpointState.STOPPED,
        auth_mode=data.get("auth_mode", "key"), host=where.hostname or "127.0.0.1",
        port=int(data.get("port") or where.port or 0), workers=int(data.get("workers", 1)),
        monitoring=bool(data.get("monitoring", False)), pid=data.get("pid"),
        error=data.get("error"), created_at=_at(data["created_at"]),
        updated_at=_at(data["updated_at"]))

