"""``ws.models``: the model registry, local (``Models``) or remote
(``RemoteModels``, which downloads a model to load or score with it; a remote
run's model is downloaded the same way, by ``fetch_model_dir``)."""

from __future__ import annotations

import builtins
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.client.endpoints import Endpoints, RemoteEndpoints, Service
from slipway.client.http import copy_tree, unzip
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


def fetch_model_dir(http: Http, path: str, folder: Path, what: str, sha256: str | None = None,
                    **params: Any) -> Path:
    """Download the model directory the API answers at ``path`` (a zip) and
    unpack it into ``folder``/model, checked against ``sha256`` (default: the
    hash the server sends with it)."""
    from slipway.store.artifacts import sha256_tree

    headers = http.fetch(path, folder / "model.zip", format="zip", **params)
    expected = sha256 or headers.get(service.MODEL_SHA256_HEADER)
    unpacked = unzip(folder / "model.zip", folder / "model")
    if not expected or sha256_tree(unpacked) != expected:
        raise IntegrityError(f"the downloaded {what} does not match its sha256",
                             hint="download again; if it persists, the server's copy "
                                  "is damaged")
    return unpacked


@contextmanager
def downloaded_model(http: Http, path: str, what: str, sha256: str | None = None,
                     **params: Any) -> Iterator[Path]:
    """``fetch_model_dir`` into a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="slipway-model-") as folder:
        yield fetch_model_dir(http, path, Path(folder), what, sha256, **params)


def load_remote_model(http: Http, path: str, what: str, sha256: str | None = None,
                      **params: Any) -> ModelDir:
    """The downloaded, hash-checked model directory at ``path``, loaded."""
    from slipway.core.model_dir import load_model_dir

    with downloaded_model(http, path, what, sha256, **params) as unpacked:
        return load_model_dir(unpacked)


class RemoteModels:
    """``ws.models`` of a remote workspace. ``load`` and ``predict_file``
    download the model directory (its sha256 checked) and run it here;
    ``export_mlflow`` has the server export it (it needs mlflow there)."""

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

    @contextmanager
    def _downloaded(self, ref: str) -> Iterator[Path]:
        model = self.get(ref).entity
        with downloaded_model(self._http, f"/models/{model.name}/download",
                              f"model {model.ref}", model.sha256,
                              version=model.version) as unpacked:
            yield unpacked

    def _loaded(self, ref: str) -> ModelDir:
        model = self.get(ref).entity
        return load_remote_model(self._http, f"/models/{model.name}/download",
                                 f"model {model.ref}", model.sha256, version=model.version)

    def download(self, ref: str, to: str | Path) -> Path:
        with self._downloaded(ref) as unpacked:
            return copy_tree(unpacked, Path(to))

    def export_mlflow(self, ref: str, to: str | Path) -> Path:
        """The server writes the MLflow format (it needs ``slipway[mlflow]``);
        unpacked into ``to``, a new folder, as a local export would be."""
        target = service.refuse_existing(Path(to))
        model = self.get(ref).entity
        with tempfile.TemporaryDirectory(prefix="slipway-mlflow-") as folder:
            archive = self._http.download(f"/models/{model.name}/mlflow",
                                          Path(folder) / "mlflow.zip", version=model.version)
            unpacked = unzip(archive, Path(folder) / "mlflow")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(unpacked, target)
        return target

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
        return service.score_file(self._loaded(ref), source, target, proba=proba)
