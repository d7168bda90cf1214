"""``ws.runs`` and the run objects the SDK hands back, for a local workspace
(``Runs``) or a server (``RemoteRuns``, which polls the API and downloads a
run's model to score with it here)."""

from __future__ import annotations

import builtins
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.client.models import load_remote_model
from slipway.core.entities import Run
from slipway.services import models as model_service
from slipway.services import runs as service

if TYPE_CHECKING:
    from slipway.client.http import Http
    from slipway.core.model_dir import ModelDir
    from slipway.services.workspace import WorkspaceContext

POLL_S = 1.0


class RunHandle:
    """A run (an AutoML parent or one of its child runs).

    >>> run = ws.experiments.submit("bank-automl", config)
    >>> run.wait_for_completion(show_output=True)
    >>> best_run, fitted_model = run.get_output()
    """

    def __init__(self, runs: Runs | RemoteRuns, run_id: str) -> None:
        self._runs = runs
        self.id = run_id

    @property
    def entity(self) -> Run:
        return self._runs.get(self.id)

    @property
    def status(self) -> str:
        return self.entity.status

    @property
    def properties(self) -> dict[str, Any]:
        return self.entity.properties

    def get_metrics(self) -> dict[str, Any]:
        return self.entity.metrics

    def get_children(self) -> list[RunHandle]:
        return [RunHandle(self._runs, c.id) for c in self._runs.children(self.id)]

    def leaderboard(self) -> list[dict[str, Any]]:
        return self._runs.leaderboard(self.id)

    def cancel(self) -> None:
        self._runs.cancel(self.id)

    def get_logs(self, tail: int | None = None) -> str:
        return self._runs.logs(self.id, tail)

    def wait_for_completion(self, show_output: bool = False,
                            timeout_s: float | None = None) -> dict[str, Any]:
        """Block until the run ends; with ``show_output`` print each trial as it finishes."""
        seen: set[str] = set()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            run = self._runs.get(self.id)
            if show_output:
                for child in self._runs.children(self.id):
                    if child.is_terminal and child.id not in seen:
                        seen.add(child.id)
                        score = "" if child.score is None else f"{child.score:.4f}"
                        print(f"{child.id:40} {child.display_name:40} {score:>8} "
                              f"{child.status}", file=sys.stdout, flush=True)
            if run.is_terminal or (deadline is not None and time.monotonic() > deadline):
                return run.to_dict()
            time.sleep(POLL_S)

    def get_output(self) -> tuple[RunHandle, Any]:
        """The best child run and its fitted scikit-learn Pipeline."""
        best, fitted = self._runs.model_output(self.id)
        return RunHandle(self._runs, best), fitted

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, status={self.status!r})"


class Runs:
    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def get(self, run_id: str) -> Run:
        return service.get(self._ctx, run_id)

    def handle(self, run_id: str) -> RunHandle:
        service.get(self._ctx, run_id)
        return RunHandle(self, run_id)

    def list(self, experiment: str | None = None, limit: int = 100) -> builtins.list[Run]:
        return service.list_runs(self._ctx, experiment, limit)

    def children(self, run_id: str) -> builtins.list[Run]:
        return service.children(self._ctx, run_id)

    def leaderboard(self, run_id: str) -> builtins.list[dict[str, Any]]:
        return service.leaderboard(self._ctx, run_id)

    def cancel(self, run_id: str) -> Run:
        return service.cancel(self._ctx, run_id)

    def logs(self, run_id: str, tail: int | None = None) -> str:
        return service.logs(self._ctx, run_id, tail)

    def charts(self, run_id: str) -> tuple[str | None, dict[str, Any]]:
        return service.charts(self._ctx, run_id)

    def predict_file(self, run_id: str, source: str | Path, target: Path, *,
                     proba: bool = False) -> int:
        return model_service.predict_file(self._ctx, run_id, source, target, proba=proba)

    def model_output(self, run_id: str) -> tuple[str, Any]:
        """(the best child's id, or the run's own, and its fitted Pipeline)."""
        from slipway.core.model_dir import load_model_dir

        run = service.get(self._ctx, run_id)
        fitted = load_model_dir(model_service.run_model_path(self._ctx, run)).pipeline
        return service.output_run_id(run), fitted


class RemoteRuns:
    """``ws.runs`` of a remote workspace."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def get(self, run_id: str) -> Run:
        return Run.from_dict(self._http.get(f"/runs/{run_id}"))

    def handle(self, run_id: str) -> RunHandle:
        self.get(run_id)
        return RunHandle(self, run_id)

    def list(self, experiment: str | None = None, limit: int = 100) -> builtins.list[Run]:
        return [Run.from_dict(r) for r in self._http.items("/runs", experiment=experiment,
                                                              limit=limit)]

    def children(self, run_id: str) -> builtins.list[Run]:
        return [Run.from_dict(r) for r in self._http.items(f"/runs/{run_id}/children")]

    def leaderboard(self, run_id: str) -> builtins.list[dict[str, Any]]:
        return self._http.items(f"/runs/{run_id}/leaderboard")

    def cancel(self, run_id: str) -> Run:
        return Run.from_dict(self._http.post(f"/runs/{run_id}/cancel"))

    def logs(self, run_id: str, tail: int | None = None) -> str:
        params = {"tail": tail} if tail else {}
        return self._http.request("GET", f"/runs/{run_id}/logs", params=params).text

    def charts(self, run_id: str) -> tuple[str | None, dict[str, Any]]:
        """(where the chart data is: the API URL, and the data)."""
        charts: dict[str, Any] = self._http.get(f"/runs/{run_id}/metrics")["charts"] or {}
        where = f"{self._http.url}/api/v1/runs/{run_id}/metrics" if charts else None
        return where, charts

    def _loaded(self, run_id: str) -> ModelDir:
        """The run's model directory, downloaded (its sha256 checked) and loaded."""
        return load_remote_model(self._http, f"/runs/{run_id}/model",
                                 f"model of run '{run_id}'")

    def predict_file(self, run_id: str, source: str | Path, target: Path, *,
                     proba: bool = False) -> int:
        """Score a file here with the run's downloaded model; writes CSV; returns rows."""
        return model_service.score_file(self._loaded(run_id), source, target, proba=proba)

    def model_output(self, run_id: str) -> tuple[str, Any]:
        """(the best child's id, or the run's own, and its fitted Pipeline, downloaded)."""
        run = self.get(run_id)
        return service.output_run_id(run), self._loaded(run_id).pipeline
