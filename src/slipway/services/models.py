"""Models: the ones runs produce (loaded hash-checked, used to score files),
and the registry of named, versioned models with lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slipway.core.entities import ModelVersion, Run
from slipway.core.errors import InvalidInput, NotFound
from slipway.core.model_dir import ModelDir, load_model_dir, read_signature
from slipway.services import runs
from slipway.services.workspace import WorkspaceContext

#: The API sends a run's model directory with its sha256 in this header (a run
#: shows no hash of its own), so a client can check what it unpacked.
MODEL_SHA256_HEADER = "X-Slipway-Model-Sha256"


def run_model_path(ctx: WorkspaceContext, run: Run) -> Path:
    """The verified model directory of a run (its best model for an AutoML run)."""
    if run.model_artifact is None or run.model_sha256 is None:
        raise NotFound(f"run '{run.id}' has no model ({run.status})", code="model_not_found",
                       hint=_no_model_hint(run))
    return ctx.artifacts.path(run.model_artifact, run.model_sha256)


def _no_model_hint(run: Run) -> str:
    if run.parent_id:
        return f"pick a child with a model from `slipway runs leaderboard {run.parent_id}`"
    if not run.is_terminal:
        return f"wait for the run to complete: `slipway runs show {run.id}`"
    return (f"it ended without a model: see why with `slipway runs logs {run.id}`, then "
            "submit it again")


def load_run_model(ctx: WorkspaceContext, run_id: str) -> ModelDir:
    return load_model_dir(run_model_path(ctx, runs.get(ctx, run_id)))


def predict_frame(model: ModelDir, frame: Any, *, proba: bool = False) -> Any:
    """Score a DataFrame of raw rows; returns it with prediction columns added."""
    missing = [c for c in model.signature.input_names if c not in frame.columns]
    if missing:
        raise InvalidInput(f"input is missing column(s) the model needs: {', '.join(missing)}",
                           hint=f"the model's inputs: {', '.join(model.signature.input_names)}")
    features = frame[model.signature.input_names]
    out = frame.copy()
    out["prediction"] = model.pipeline.predict(features)
    if proba:
        if model.signature.task != "classification":
            raise InvalidInput("--proba is for classification models", hint="drop --proba")
        probabilities = model.pipeline.predict_proba(features)
        for index, label in enumerate(model.signature.classes or []):
            out[f"proba_{label}"] = probabilities[:, index]
    return out


def predict_file(ctx: WorkspaceContext, run_id: str, source: str | Path, target: Path, *,
                 proba: bool = False) -> int:
    """Score a CSV/Parquet file with a run's model; writes CSV; returns rows."""
    return score_file(load_run_model(ctx, run_id), source, target, proba=proba)


def predict_file_with_model(ctx: WorkspaceContext, ref: str, source: str | Path, target: Path,
                            *, proba: bool = False) -> int:
    """Score a file with a registered model."""
    return score_file(load_model_dir(model_path(ctx, ref)), source, target, proba=proba)


def score_file(model: ModelDir, source: str | Path, target: Path, *, proba: bool = False) -> int:
    """Score a CSV/Parquet file with a loaded model; writes CSV; returns rows."""
    from slipway.data import read_table

    frame = read_table(source).to_pandas()
    scored = predict_frame(model, frame, proba=proba)
    target.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(target, index=False)
    return len(scored)


# -- the registry -------------------------------------------------------------

def parse_ref(ref: str) -> tuple[str, int | None]:
    """``bank-model:2`` -> ("bank-model", 2); ``bank-model`` -> latest."""
    name, sep, version = ref.partition(":")
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInput(f"cannot read the model reference {ref!r}",
                           hint="use NAME or NAME:VERSION, e.g. bank-model:1")
    return name, int(version)


def register(ctx: WorkspaceContext, run_id: str, name: str, *, child: str | None = None,
             description: str = "", tags: dict[str, str] | None = None) -> ModelVersion:
    """Register the model of a run (an AutoML run's best child by default, or
    ``child``) as the next version of ``name``."""
    from slipway.services.datasets import validate_name

    validate_name(name, "model")
    parent = runs.get(ctx, run_id)
    if child is not None:
        source = runs.get(ctx, child)
        if source.parent_id != parent.id:
            raise InvalidInput(f"run '{child}' is not a child of '{run_id}'",
                               hint=f"see `slipway runs leaderboard {run_id}`")
        holder = source
    elif parent.kind == "automl":
        best = parent.properties.get("best_child_run_id")
        source = runs.get(ctx, best) if best else parent
        # The best model is stored on the parent too, refit on all rows.
        holder = source if source.model_artifact else parent
    else:
        source = holder = parent
    path = run_model_path(ctx, holder)
    signature = read_signature(path)
    assert holder.model_artifact is not None and holder.model_sha256 is not None
    return ctx.models.create_version(
        name, description=description, tags=tags or {}, task=signature.task,
        algorithm=source.display_name, run_id=source.id, parent_run_id=source.parent_id,
        dataset=parent.settings.get("dataset"), dataset_version=parent.settings.get("dataset_version"),
        artifact=holder.model_artifact, sha256=holder.model_sha256,
        signature=signature.to_dict(), metrics=source.metrics)


def get_model(ctx: WorkspaceContext, ref: str) -> ModelVersion:
    name, version = parse_ref(ref)
    return ctx.models.get_version(name, version)


def model_path(ctx: WorkspaceContext, ref: str) -> Path:
    """The registered model's directory, its hash checked."""
    model = get_model(ctx, ref)
    return ctx.artifacts.path(model.artifact, model.sha256)


def download(ctx: WorkspaceContext, ref: str, target: Path) -> Path:
    import shutil

    source = model_path(ctx, ref)
    if target.exists() and any(target.iterdir()):
        raise InvalidInput(f"{target} exists and is not empty", hint="choose an empty folder")
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def require_mlflow(*, on_server: bool = False) -> None:
    """Refuse (before any work) when the mlflow package is missing here."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is not None:
        return
    if on_server:
        raise InvalidInput("the server cannot export to MLflow: the mlflow package is not "
                           "installed there", code="mlflow_not_installed",
                           hint="install it where `slipway server` runs "
                                "(pip install 'slipway[mlflow]') and restart the server")
    raise InvalidInput("exporting to MLflow needs the mlflow package",
                       code="mlflow_not_installed", hint="pip install 'slipway[mlflow]'")


def refuse_existing(target: Path) -> Path:
    """Exports write a new folder: never into (or over) an existing one."""
    if target.exists():
        raise InvalidInput(f"{target} already exists", hint="choose a new folder")
    return target


def export_mlflow(ctx: WorkspaceContext, ref: str, target: Path) -> Path:
    """Write the model in the MLflow format (``mlflow models serve -m <target>``)."""
    require_mlflow()
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature

    refuse_existing(target)
    loaded = load_model_dir(model_path(ctx, ref))
    example = pd.DataFrame(loaded.signature.example)[loaded.signature.input_names]
    signature = infer_signature(example, loaded.pipeline.predict(example))
    mlflow.sklearn.save_model(loaded.pipeline, str(target), signature=signature,
                              input_example=example, pip_requirements=[
                                  line for line in (loaded.path / "requirements.txt")
                                  .read_text().splitlines() if line] + ["slipway"])
    return target


def set_tags(ctx: WorkspaceContext, ref: str, tags: dict[str, str],
             description: str | None = None) -> ModelVersion:
    model = get_model(ctx, ref)
    fields: dict[str, Any] = {"tags": {**model.tags, **tags}}
    if description is not None:
        fields["description"] = description
    return ctx.models.update(model.name, model.version, **fields)
