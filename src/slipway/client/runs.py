"""``ws.runs`` and the run objects the SDK hands back."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.core.entities import Run
from slipway.services import models as model_service
from slipway.services import runs as service

if TYPE_CHECKING:
    from slipway.services.workspace import WorkspaceContext


class RunHandle:
    """A run (an AutoML parent or one of its child runs).

    >>> run = ws.experiments.submit("bank-automl", config)
    >>> run.wait_for_completion(show_output=True)
    >>> best_run, fitted_model = run.get_output()
    """

    def __init__(self, ctx: WorkspaceContext, run_id: str) -> None:
        self._ctx = ctx
        self.id = run_id

    @property
    def entity(self) -> Run:
        return service.get(self._ctx, self.id)

    @property
    def status(self) -> str:
        return self.entity.status

    @property
    def properties(self) -> dict[str, Any]:
        return self.entity.properties

    def get_metrics(self) -> dict[str, Any]:
        return self.entity.metrics

    def get_children(self) -> list[RunHandle]:
        return [RunHandle(self._ctx, c.id) for c in service.children(self._ctx, self.id)]

    def leaderboard(self) -> list[dict[str, Any]]:
        return service.leaderboard(self._ctx, self.id)

    def cancel(self) -> None:
        service.cancel(self._ctx, self.id)

    def get_logs(self, tail: int | None = None) -> str:
        return service.logs(self._ctx, self.id, tail)

    def wait_for_completion(self, show_output: bool = False,
                            timeout_s: float | None = None) -> dict[str, Any]:
        """Block until the run ends; with ``show_output`` print each trial as it finishes."""
        seen: set[str] = set()

        def progress(run: Run, children: list[Run]) -> None:
            if not show_output:
                return
            for child in children:
                if child.is_terminal and child.id not in seen:
                    seen.add(child.id)
                    score = "" if child.score is None else f"{child.score:.4f}"
                    print(f"{child.id:40} {child.display_name:40} {score:>8} {child.status}",
                          file=sys.stdout, flush=True)

        return service.wait(self._ctx, self.id, timeout_s=timeout_s,
                            on_progress=progress).to_dict()

    def get_output(self) -> tuple[RunHandle, Any]:
        """The best child run and its fitted scikit-learn Pipeline."""
        run = self.entity
        best = run.properties.get("best_child_run_id") if run.kind == "automl" else run.id
        if best is None:
            model_service.run_model_path(self._ctx, run)  # raises the helpful error
        fitted = model_service.load_run_model(self._ctx, self.id).pipeline
        return RunHandle(self._ctx, best or self.id), fitted

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, status={self.status!r})"


class Runs:
    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def get(self, run_id: str) -> Run:
        return service.get(self._ctx, run_id)

    def handle(self, run_id: str) -> RunHandle:
        service.get(self._ctx, run_id)
        return RunHandle(self._ctx, run_id)

    def list(self, experiment: str | None = None, limit: int = 100) -> builtins.list[Run]:
        return service.list_runs(self._ctx, experiment, limit)

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
