"""``ws.models``: the model registry."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.core.entities import ModelVersion
from slipway.services import models as service

if TYPE_CHECKING:
    from slipway.services.workspace import WorkspaceContext


class Models:
    """
    >>> model = ws.models.register(run_id, "bank-model")
    >>> model.ref
    'bank-model:1'
    """

    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def register(self, run_id: str, name: str, *, child: str | None = None,
                 description: str = "", tags: dict[str, str] | None = None) -> ModelVersion:
        """Register a run's model (an AutoML run's best child unless ``child``)."""
        return service.register(self._ctx, run_id, name, child=child, description=description,
                                tags=tags)

    def get(self, ref: str) -> ModelVersion:
        """``name`` (latest) or ``name:version``."""
        return service.get_model(self._ctx, ref)

    def list(self) -> builtins.list[ModelVersion]:
        return self._ctx.models.latest_versions()

    def versions(self, name: str) -> builtins.list[ModelVersion]:
        versions = self._ctx.models.list_versions(name)
        if not versions:
            self._ctx.models.get_version(name)  # raises not found
        return versions

    def download(self, ref: str, to: str | Path) -> Path:
        return service.download(self._ctx, ref, Path(to))

    def export_mlflow(self, ref: str, to: str | Path) -> Path:
        return service.export_mlflow(self._ctx, ref, Path(to))

    def set_tags(self, ref: str, tags: dict[str, str], description: str | None = None) -> ModelVersion:
        return service.set_tags(self._ctx, ref, tags, description)

    def load(self, ref: str) -> Any:
        """The fitted scikit-learn Pipeline of a registered model (hash checked)."""
        from slipway.core.model_dir import load_model_dir

        return load_model_dir(service.model_path(self._ctx, ref)).pipeline

    def predict_file(self, ref: str, source: str | Path, target: Path, *,
                     proba: bool = False) -> int:
        return service.predict_file_with_model(self._ctx, ref, source, target, proba=proba)
