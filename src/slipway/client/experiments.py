"""``ws.experiments`` (local ``Experiments``, remote ``RemoteExperiments``) and
``AutoMLConfig``."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slipway.client.runs import RemoteRuns, RunHandle, Runs
from slipway.core.entities import Experiment
from slipway.services import automl as automl_service
from slipway.services import runs as run_service

if TYPE_CHECKING:
    from slipway.automl import AutoMLSettings
    from slipway.client.http import Http
    from slipway.services.workspace import WorkspaceContext


@dataclass
class AutoMLConfig:
    """An AutoML run, in the words of the cloud SDKs.

    >>> config = AutoMLConfig(task="classification",
    ...     training_data=ws.datasets.get("bankmarketing"), label_column_name="y",
    ...     primary_metric="AUC_weighted", experiment_timeout_minutes=5,
    ...     max_concurrent_iterations=2)
    >>> run = ws.experiments.submit("bank-automl", config)
    """

    task: str
    training_data: Any  # a Dataset from ws.datasets.get(), or a dataset name
    label_column_name: str
    primary_metric: str | None = None
    experiment_timeout_minutes: float = 5.0
    max_concurrent_iterations: int = 2
    iterations: int | None = None
    n_cross_validations: int | None = None
    validation_size: float | None = None
    allowed_models: list[str] | None = None
    blocked_models: list[str] | None = None
    exclude_columns: list[str] = field(default_factory=list)
    enable_ensembling: bool = True
    class_weight: str = "auto"
    featurization: str = "auto"
    seed: int = 0

    def to_settings(self) -> AutoMLSettings:
        from slipway.automl import AutoMLSettings

        return AutoMLSettings(
            task=self.task, target=self.label_column_name, primary_metric=self.primary_metric,
            timeout_s=float(self.experiment_timeout_minutes) * 60.0,
            concurrency=self.max_concurrent_iterations, iterations=self.iterations,
            cv_folds=self.n_cross_validations, validation_size=self.validation_size,
            allowed_learners=self.allowed_models, blocked_learners=self.blocked_models,
            exclude_columns=tuple(self.exclude_columns), ensembles=self.enable_ensembling,
            class_weight=self.class_weight, featurization=self.featurization, seed=self.seed)

    def dataset_ref(self) -> tuple[str, int | None]:
        data = self.training_data
        if isinstance(data, str):
            return data, None
        return data.name, data.version


class Experiments:
    def __init__(self, ctx: WorkspaceContext, runs: Runs | None = None) -> None:
        self._ctx = ctx
        self._runs = runs or Runs(ctx)

    def submit(self, experiment: str, config: AutoMLConfig) -> RunHandle:
        """Queue an AutoML run; it executes in a worker process while you go on."""
        name, version = config.dataset_ref()
        return self.submit_settings(experiment, name, config.to_settings(),
                                    dataset_version=version)

    def submit_settings(self, experiment: str, dataset: str, settings: AutoMLSettings, *,
                        dataset_version: int | None = None) -> RunHandle:
        run = automl_service.submit(self._ctx, experiment, dataset, settings,
                                    dataset_version=dataset_version)
        return RunHandle(self._runs, run.id)

    def list(self) -> builtins.list[Experiment]:
        return run_service.list_experiments(self._ctx)


class RemoteExperiments:
    """``ws.experiments`` of a remote workspace: runs are queued on the server."""

    def __init__(self, http: Http, runs: RemoteRuns) -> None:
        self._http = http
        self._runs = runs

    def submit(self, experiment: str, config: AutoMLConfig) -> RunHandle:
        """Queue an AutoML run on the server; it executes in the server's workers."""
        name, version = config.dataset_ref()
        return self.submit_settings(experiment, name, config.to_settings(),
                                    dataset_version=version)

    def submit_settings(self, experiment: str, dataset: str, settings: AutoMLSettings, *,
                        dataset_version: int | None = None) -> RunHandle:
        from dataclasses import asdict

        body = asdict(settings)
        body["exclude_columns"] = list(body["exclude_columns"])
        for key in ("allowed_learners", "blocked_learners"):
            if body[key] is not None:
                body[key] = list(body[key])
        run = self._http.post("/runs", {"experiment": experiment, "dataset": dataset,
                                        "dataset_version": dataset_version, "automl": body})
        return RunHandle(self._runs, run["run_id"])

    def list(self) -> builtins.list[Experiment]:
        return [Experiment.from_dict(e) for e in self._http.items("/experiments")]
