"""``ws.models``: the model registry, local (``Models``) or remote
(``RemoteModels``, which downloads a model to load or score with it)."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.client.endpoints import Endpoints, RemoteEndpoints, Service
from slipway.client.http import copy_tree, unsupported
from slipway.core.entities import ModelVersion
from slipway.core.errors import IntegrityError
from slipway.services import models as service

if TYPE_CHECKING:
    from slipway.client.http import Http
    from slipway.core.model_dir import ModelDir
    from slipway.services.workspace import WorkspaceContext


class Model:
    """A registered model version; attributes of ``ModelVersion`` pass through.

    >>> service = model.deploy(name="bank-endpoint", auth="key")
    """

    def __init__(self, models: Models | RemoteModels, entity: ModelVersion) -> None:
        self._models = models
        self.entity = entity

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entity, name)

    def to_dict(self) -> dict[str, Any]:
        return self.entity.to_dict()

    def deploy(self, name: str, *, auth: str = "key", workers: int = 1,
               enable_monitoring: bool = False, port: int | None = None,
               wait: bool = False) -> Service:
        """Start an endpoint for this model; ``service.wait_for_deployment()`` waits."""
        endpoints = self._models.endpoints
        endpoints.deploy(self.entity.ref, name, auth=auth, workers=workers,
                         monitoring=enable_monitoring, port=port, wait=wait)
        return Service(endpoints, name)

    def __repr__(self) -> str:
        return f"Model({self.entity.ref!r}, {self.entity.algorithm!r})"


class Models:
    """
    >>> model = ws.models.register(run_id, "bank-model")
    >>> model.ref
    'bank-model:1'
    """

    def __init__(self, ctx: WorkspaceContext, endpoints: Endpoints | None = None) -> None:
        self._ctx = ctx
        self.endpoints = endpoints or Endpoints(ctx)

    def register(self, run_id: str, name: str, *, child: str | None = None,
                 description: str = "", tags: dict[str, str] | None = None) -> Model:
        """Register a run's model (an AutoML run's best child unless ``child``)."""
        return Model(self, service.register(self._ctx, run_id, name, child=child,
                                            description=description, tags=tags))

    def get(self, ref: str) -> Model:
        """``name`` (latest) or ``name:version``."""
        return Model(self, service.get_model(self._ctx, ref))

    def list(self) -> builtins.list[Model]:
        return [Model(self, m) for m in self._ctx.models.latest_versions()]

    def versions(self, name: str) -> builtins.list[Model]:
        versions = self._ctx.models.list_versions(name)
        if not versions:
            self._ctx.models.get_version(name)  # raises not found
        return [Model(self, m) for m in versions]

    def download(self, ref: str, to: str | Path) -> Path:
        return service.download(self._ctx, ref, Path(to))

    def export_mlflow(self, ref: str, to: str | Path) -> Path:
        return service.export_mlflow(self._ctx, ref, Path(to))

    def set_tags(self, ref: str, tags: dict[str, str], description: str | None = None) -> Model:
        return Model(self, service.set_tags(self._ctx, ref, tags, description))

    def load(self, ref: str) -> Any:
        """The fitted scikit-learn Pipeline of a registered model (hash checked)."""
        from slipway.core.model_dir import load_model_dir

        return load_model_dir(service.model_path(self._ctx, ref)).pipeline

    def predict_file(self, ref: str, source: str | Path, target: Path, *,
                     proba: bool = False) -> int:
        return service.predict_file_with_model(self._ctx, ref, source, target, proba=proba)


class RemoteModels:
    """``ws.models`` of a remote workspace. ``load`` and ``predict_file``
    download the model directory (its sha256 checked) and run it here."""

    def __init__(self, http: Http, endpoints: RemoteEndpoints) -> None:
        self._http = http
        self.endpoints = endpoints

    def _model(self, data: dict[str, Any]) -> Model:
        return Model(self, ModelVersion.from_dict(data))

    def _version(self, ref: str) -> dict[str, Any]:
        name, version = service.parse_ref(ref)
        path = f"/models/{name}" if version is None else f"/models/{name}/versions/{version}"
        found: dict[str, Any] = self._http.get(path)
        return found

    def register(self, run_id: str, name: str, *, child: str | None = None,
                 description: str = "", tags: dict[str, str] | None = None) -> Model:
        """Register a run's model (an AutoML run's best child unless ``child``)."""
        return self._model(self._http.post("/models", {
            "run_id": run_id, "name": name, "child": child, "description": description,
            "tags": tags or {}}))

    def get(self, ref: str) -> Model:
        """``name`` (latest) or ``name:version``."""
        return self._model(self._version(ref))

    def list(self) -> builtins.list[Model]:
        return [self._model(m) for m in self._http.items("/models")]

    def versions(self, name: str) -> builtins.list[Model]:
        return [self._model(m) for m in self._http.items(f"/models/{name}/versions")]

    def _fetch(self, ref: str, folder: Path) -> tuple[ModelVersion, Path]:
        """Download and unpack ``ref`` into ``folder``/model, its hash checked."""
        import zipfile

        from slipway.store.artifacts import sha256_tree

        model = self.get(ref).entity
        archive = self._http.download(f"/models/{model.name}/download",
                                      folder / "model.zip", version=model.version,
                                      format="zip")
        unpacked = folder / "model"
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(unpacked)
        archive.unlink()
        if sha256_tree(unpacked) != model.sha256:
            raise IntegrityError(f"the downloaded model {model.ref} does not match its sha256",
                                 hint="download again; if it persists, the server's copy "
                                      "is damaged")
        return model, unpacked

    def _loaded(self, ref: str) -> ModelDir:
        import tempfile

        from slipway.core.model_dir import load_model_dir

        with tempfile.TemporaryDirectory(prefix="slipway-model-") as folder:
            _, path = self._fetch(ref, Path(folder))
            return load_model_dir(path)

    def download(self, ref: str, to: str | Path) -> Path:
        import tempfile

        target = Path(to)
        with tempfile.TemporaryDirectory(prefix="slipway-model-") as folder:
            _, path = self._fetch(ref, Path(folder))
            return copy_tree(path, target)

    def export_mlflow(self, ref: str, to: str | Path) -> Path:
        raise unsupported("exporting to MLflow",
                          f"`slipway models download {ref} --to FOLDER`, then export on a "
                          "local workspace, or run the export on the server's machine")

    def set_tags(self, ref: str, tags: dict[str, str], description: str | None = None) -> Model:
        model = self.get(ref).entity
        body: dict[str, Any] = {"tags": tags}
        if description is not None:
            body["description"] = description
        return self._model(self._http.patch(
            f"/models/{model.name}/versions/{model.version}", body))

    def load(self, ref: str) -> Any:
        """The fitted scikit-learn Pipeline of a registered model (downloaded, hash checked)."""
        return self._loaded(ref).pipeline

    def predict_file(self, ref: str, source: str | Path, target: Path, *,
                     proba: bool = False) -> int:
        """Score a file here with the downloaded model; writes CSV; returns rows."""
        from slipway.data import read_table

        frame = read_table(source).to_pandas()
        scored = service.predict_frame(self._loaded(ref), frame, proba=proba)
        target.parent.mkdir(parents=True, exist_ok=True)
        scored.to_csv(target, index=False)
        return len(scored)
