from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from slipway.core.entities import RunStatus
from slipway.core.errors import InvalidInput, NotFound, SlipwayError
from slipway.core.model_dir import infer_signature, save_model_dir


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "c": ["a", "b", "a", "b"] * 5,
                         "y": ["no", "no", "yes", "yes"] * 5})


def _store_model(ctx: Any) -> tuple[str, str]:
    frame = _frame()
    X = frame[["x", "c"]]
    pipe = Pipeline([("prep", ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"),
                                                   ["c"])], remainder="passthrough")),
                     ("clf", LogisticRegression())]).fit(X, frame["y"])
    sig = infer_signature(X, task="classification", target="y",
                          column_types={"x": "numeric", "c": "categorical"},
                          classes=list(pipe.classes_))
    with ctx.artifacts.staging_dir() as staged:
        save_model_dir(staged / "m", pipe, sig, {"AUC_weighted": 0.9})
        stored = ctx.artifacts.commit_dir(staged / "m")
    return stored.key, stored.sha256


@pytest.fixture
def automl_run(ws: Any, tmp_path: Path) -> str:
    """A completed AutoML run with two children, as the worker records it."""
    ctx = ws._ctx
    csv = tmp_path / "d.csv"
    _frame().to_csv(csv, index=False)
    ws.datasets.register("toy", csv)
    key, sha = _store_model(ctx)
    ctx.runs.create_run("AutoML_p", experiment="e", kind="automl", status=RunStatus.COMPLETED,
                        settings={"dataset": "toy", "dataset_version": 1})
    for trial, model in ((0, True), (1, False)):
        ctx.runs.create_run(f"AutoML_p_{trial}", experiment="e", kind="trial",
                            status=RunStatus.COMPLETED, display_name=f"algo{trial}",
                            parent_id="AutoML_p")
        ctx.runs.update_run(f"AutoML_p_{trial}", metrics={"AUC_weighted": 0.9 - trial / 10},
                            **({"model_artifact": key, "model_sha256": sha} if model else {}))
    ctx.runs.update_run("AutoML_p", model_artifact=key, model_sha256=sha,
                        properties={"best_child_run_id": "AutoML_p_0"})
    return "AutoML_p"


def test_register_best_child_with_lineage_and_versions(ws: Any, automl_run: str) -> None:
    first = ws.models.register(automl_run, "bank-model", description="d", tags={"team": "risk"})
    assert first.ref == "bank-model:1" and first.algorithm == "algo0"
    assert (first.run_id, first.parent_run_id, first.dataset, first.dataset_version) == (
        "AutoML_p_0", "AutoML_p", "toy", 1)
    assert [c["name"] for c in first.signature["inputs"]] == ["x", "c"]
    assert first.signature["classes"] == ["no", "yes"]
    second = ws.models.register(automl_run, "bank-model")
    assert second.version == 2 and ws.models.get("bank-model").version == 2
    assert [m.version for m in ws.models.versions("bank-model")] == [1, 2]
    assert [m.ref for m in ws.models.list()] == ["bank-model:2"]
    tagged = ws.models.set_tags("bank-model:1", {"stage": "prod"})
    assert tagged.tags == {"team": "risk", "stage": "prod"}


def test_child_without_model_and_foreign_child(ws: Any, automl_run: str) -> None:
    with pytest.raises(NotFound) as info:
        ws.models.register(automl_run, "m", child="AutoML_p_1")
    assert info.value.code == "model_not_found"
    ws._ctx.runs.create_run("other", experiment="e", kind="automl", status="Completed")
    with pytest.raises(InvalidInput):
        ws.models.register("other", "m", child="AutoML_p_0")


def test_download_load_and_predict(ws: Any, automl_run: str, tmp_path: Path) -> None:
    ws.models.register(automl_run, "bank-model")
    folder = ws.models.download("bank-model:1", tmp_path / "m")
    assert {p.name for p in folder.iterdir()} == {"model.pkl", "signature.json", "metrics.json",
                                                   "requirements.txt"}
    pipe = ws.models.load("bank-model:1")
    new = pd.DataFrame({"x": [3.0, 0.0], "c": ["b", "never-seen"], "extra": [1, 2]})
    assert list(pipe.predict(new[["x", "c"]])) == ["yes", "no"]
    source = tmp_path / "new.csv"
    new.to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    assert ws.models.predict_file("bank-model:1", source, out, proba=True) == 2
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["x", "c", "extra", "prediction", "proba_no", "proba_yes"]
    assert scored["proba_yes"].between(0, 1).all()
    assert ws.runs.predict_file(automl_run, source, tmp_path / "s2.csv") == 2


def test_missing_column_in_scoring_file(ws: Any, automl_run: str, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    pd.DataFrame({"x": [1.0]}).to_csv(source, index=False)
    with pytest.raises(InvalidInput) as info:
        ws.runs.predict_file(automl_run, source, tmp_path / "o.csv")
    assert "c" in info.value.message and not (tmp_path / "o.csv").exists()


def test_tampered_model_is_refused(ws: Any, automl_run: str) -> None:
    model = ws.models.register(automl_run, "bank-model")
    pkl = ws.path / "artifacts" / model.artifact / "model.pkl"
    pkl.write_bytes(pkl.read_bytes() + b"\0")
    with pytest.raises(SlipwayError) as info:
        ws.models.load("bank-model:1")
    assert info.value.code == "artifact_integrity"


@pytest.mark.parametrize("ref", ["m:0", "m:x", "m:-1"])
def test_bad_model_refs(ws: Any, ref: str) -> None:
    with pytest.raises(InvalidInput):
        ws.models.get(ref)


def test_missing_model(ws: Any) -> None:
    with pytest.raises(NotFound):
        ws.models.get("nope:1")
