"""``ws.models``: the model registry."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.client.endpoints import Service
from slipway.core.entities import ModelVersion
from slipway.services import models as service

if TYPE_CHECKING:
    from slipway.services.workspace import WorkspaceContext


class Model:
    """A registered model version; attributes of ``ModelVersion`` pass through.

    >>> service = model.deploy(name="bank-endpoint", auth="key")
    """

    def __init__(self, ctx: WorkspaceContext, entity: ModelVersion) -> None:
        self._ctx = ctx
        self.entity = entity

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entity, name)

    def to_dict(self) -> dict[str, Any]:
        return self.entity.to_dict()

    def deploy(self, name: str, *, auth: str = "key", workers: int = 1,
               enable_monitoring: bool = False, port: int | None = None,
               wait: bool = False) -> Service:
        """Start an endpoint for this model; ``service.wait_for_deployment()`` waits."""
        from slipway.services import endpoints

        endpoints.deploy(self._ctx, self.entity.ref, name, auth=auth, workers=workers,
                         monitoring=enable_monitoring, port=port, wait=wait)
        return Service(self._ctx, name)

    def __repr__(self) -> str:
        return f"Model({self.entity.ref!r}, {self.entity.algorithm!r})"


class Models:
    """
    >>> model = ws.models.register(run_id, "bank-model")
    >>> model.ref
    'bank-model:1'
    """

    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def register(self, run_id: str, name: str, *, child: str | None = None,
                 description: str = "", tags: dict[str, str] | None = None) -> Model:
        """Register a run's model (an AutoML run's best child unless ``child``)."""
        return Model(self._ctx, service.register(self._ctx, run_id, name, child=child,
                                                 description=description, tags=tags))

    def get(self, ref: str) -> Model:
        """``name`` (latest) or ``name:version``."""
        return Model(self._ctx, service.get_model(self._ctx, ref))

    def list(self) -> builtins.list[Model]:
        return [Model(self._ctx, m) for m in self._ctx.models.latest_versions()]

    def versions(self, name: str) -> builtins.list[Model]:
        versions = self._ctx.models.list_versions(name)
        if not versions:
            self._ctx.models.get_version(name)  # raises not found
        return [Model(self._ctx, m) for m in versions]

    def download(self, ref: str, to: str | Path) -> Path:
        return service.download(self._ctx, ref, Path(to))

    def export_mlflow(self, ref: str, to: str | Path) -> Path:
        return service.export_mlflow(self._ctx, ref, Path(to))

    def set_tags(self, ref: str, tags: dict[str, str], description: str | None = None) -> Model:
        return Model(self._ctx, service.set_tags(self._ctx, ref, tags, description))

    def load(self, ref: str) -> Any:
        """The fitted scikit-learn Pipeline of a registered model (hash checked)."""
        from slipway.core.model_dir import load_model_dir

        return load_model_dir(service.model_path(self._ctx, ref)).pipeline

    def predict_file(self, ref: str, source: str | Path, target: Path, *,
                     proba: bool = False) -> int:
        return service.predict_file_with_model(self._ctx, ref, source, target, proba=proba)
