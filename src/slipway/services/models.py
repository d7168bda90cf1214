"""Models produced by runs: load them (hash checked) and score files with them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slipway.core.entities import Run
from slipway.core.errors import InvalidInput, NotFound
from slipway.core.model_dir import ModelDir, load_model_dir
from slipway.services import runs
from slipway.services.workspace import WorkspaceContext


def run_model_path(ctx: WorkspaceContext, run: Run) -> Path:
    """The verified model directory of a run (its best model for an AutoML run)."""
    if run.model_artifact is None or run.model_sha256 is None:
        hint = ("pick a child with a model from `slipway runs leaderboard`"
                if run.parent_id else "wait for the run to complete: `slipway runs show`")
        raise NotFound(f"run '{run.id}' has no model ({run.status})", code="model_not_found",
                       hint=hint)
    return ctx.artifacts.path(run.model_artifact, run.model_sha256)


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
    from slipway.data import read_table

    model = load_run_model(ctx, run_id)
    frame = read_table(source).to_pandas()
    scored = predict_frame(model, frame, proba=proba)
    target.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(target, index=False)
    return len(scored)
