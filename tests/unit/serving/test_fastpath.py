"""The fast path gives the pipeline's answers: proved on the whole bank training file,
checked for each featurizer and learner it compiles, and switched off when it disagrees."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)
from xgboost import XGBClassifier

from slipway.serving import fastpath
from slipway.serving.featurize import SMALL
from slipway.serving.model import LoadedModel
from slipway.serving.validation import validate_records

from .conftest import featurizer, save


def test_fast_path_equals_the_pipeline_on_the_whole_bank_file(bank_model_dir: Path,
                                                              bank: pd.DataFrame) -> None:
    model = LoadedModel(bank_model_dir)
    assert model.fast.enabled, model.fast.reason
    assert model._rows is not None
    X = bank.drop(columns=["y"])
    records = X.to_dict(orient="records")
    want_proba = model.pipeline.predict_proba(X)
    want_labels = model.pipeline.predict(X)
    assert len(records) == 26_361

    # the column path, all rows in one batch
    batch = validate_records(records, model.schema, len(records))
    proba = model.predictor.proba(batch)
    assert np.max(np.abs(proba - want_proba)) < 1e-6
    assert np.array_equal(model._labels(proba), want_labels)

    # the row path, as small requests take it
    row_proba = np.vstack([model._learner(model._rows(records[i:i + SMALL]))
                           for i in range(0, len(records), SMALL)])
    assert np.max(np.abs(row_proba - want_proba)) < 1e-6
    assert np.array_equal(model._labels(row_proba), want_labels)

    # and through the scoring entry point, labels exactly as the pipeline's
    labels: list[Any] = []
    for i in range(0, 2000, 2):
        result, _n = model.score_records(records[i:i + 2], "predict", 100)
        labels += result
    assert labels == want_labels[:2000].tolist()


def _fit_and_load(tmp_path: Path, bank: pd.DataFrame, pipe: Pipeline, n: int = 3000,
                  transform: Any = None) -> LoadedModel:
    sample = bank.sample(n, random_state=3)
    X, y = sample.drop(columns=["y"]), sample["y"]
    if "XGB" in type(pipe.steps[-1][1]).__name__:  # XGBoost wants classes 0..k-1
        y = (y == "yes").astype(int)
    if transform is not None:
        X = transform(X)
    pipe.fit(X, y)
    return LoadedModel(save(tmp_path / "model", pipe, X, "classification", "y"))


def _assert_equal_on(model: LoadedModel, bank: pd.DataFrame, transform: Any = None) -> None:
    X = bank.drop(columns=["y"]).sample(3000, random_state=4)
    if transform is not None:
        X = transform(X)
    batch = validate_records(X.to_dict(orient="records"), model.schema, len(X))
    want = model.pipeline.predict_proba(X)
    got = model.predictor.proba(batch)
    assert np.max(np.abs(got - want)) < 1e-6
    assert np.array_equal(model._labels(got), model.pipeline.predict(X))


def _categorical(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if X[c].dtype.kind not in "if"]


def _numeric(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if X[c].dtype.kind in "if"]


@pytest.mark.parametrize("learner", [
    XGBClassifier(n_estimators=20, max_depth=4, n_jobs=1),
    RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0),
    ExtraTreesClassifier(n_estimators=10, max_depth=6, random_state=0),
    LogisticRegression(max_iter=300),
], ids=["xgboost", "random_forest", "extra_trees", "logistic_regression"])
def test_each_learner_compiles_and_agrees(tmp_path: Path, bank: pd.DataFrame,
                                          learner: Any) -> None:
    X = bank.drop(columns=["y"])
    model = _fit_and_load(tmp_path, bank, Pipeline([("featurize", featurizer(X)),
                                                    ("model", learner)]))
    assert model.fast.enabled, model.fast.reason
    _assert_equal_on(model, bank)


def test_catboost_compiles_and_agrees(tmp_path: Path, bank: pd.DataFrame) -> None:
    """Where the optional CatBoost is installed: unpickled, it reports 0 input features."""
    catboost = pytest.importorskip("catboost")
    X = bank.drop(columns=["y"])
    learner = catboost.CatBoostClassifier(iterations=30, depth=4, verbose=False,
                                          thread_count=1, random_seed=0,
                                          allow_writing_files=False)
    model = _fit_and_load(tmp_path, bank, Pipeline([("featurize", featurizer(X)),
                                                    ("model", learner)]))
    assert model.fast.enabled, model.fast.reason
    _assert_equal_on(model, bank)


def test_sparse_one_hot_with_max_abs_scaler_and_xgboost(tmp_path: Path,
                                                        bank: pd.DataFrame) -> None:
    """XGBoost reads a sparse matrix's zeros as missing: the fast path must too."""
    X = bank.drop(columns=["y"])
    ct = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), _categorical(X))],
                           remainder="passthrough", sparse_threshold=1.0)
    pipe = Pipeline([("featurize", ct), ("scale", MaxAbsScaler()),
                     ("model", XGBClassifier(n_estimators=20, max_depth=4, n_jobs=1))])
    model = _fit_and_load(tmp_path, bank, pipe)
    assert model.fast.enabled, model.fast.reason
    assert any("sparse" in c for c in model.fast.components)
    _assert_equal_on(model, bank)


def test_ordinal_and_target_encoders(tmp_path: Path, bank: pd.DataFrame) -> None:
    X = bank.drop(columns=["y"])
    cats = _categorical(X)
    ct = ColumnTransformer([
        ("num", StandardScaler(), _numeric(X)),
        ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cats[:5]),
        ("te", TargetEncoder(cv=KFold(5)), cats[5:]),
    ])
    pipe = Pipeline([("featurize", ct),
                     ("model", LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1))])
    model = _fit_and_load(tmp_path, bank, pipe)
    assert model.fast.enabled, model.fast.reason
    assert model._rows is None  # encoders the row path does not take: the column path serves
    _assert_equal_on(model, bank)


def _with_text(X: pd.DataFrame) -> pd.DataFrame:
    out = X.copy()
    out["notes"] = X["job"] + " " + X["education"].str.replace(".", " ") + " " + X["month"]
    return out


def test_tfidf_text_column(tmp_path: Path, bank: pd.DataFrame) -> None:
    ct = ColumnTransformer([("num", StandardScaler(), ["age", "duration", "euribor3m"]),
                            ("text", TfidfVectorizer(), "notes")])
    pipe = Pipeline([("featurize", ct), ("model", LogisticRegression(max_iter=300))])
    model = _fit_and_load(tmp_path, bank, pipe, transform=_with_text)
    assert model.fast.enabled, model.fast.reason
    _assert_equal_on(model, bank, transform=_with_text)


def test_uncompilable_pipelines_serve_through_the_pipeline(tmp_path: Path,
                                                           bank: pd.DataFrame) -> None:
    X = bank.drop(columns=["y"])
    ct = ColumnTransformer([("num", FunctionTransformer(np.log1p), ["duration"]),
                            ("cat", OneHotEncoder(handle_unknown="ignore"), _categorical(X))])
    pipe = Pipeline([("featurize", ct), ("model", LogisticRegression(max_iter=300))])
    model = _fit_and_load(tmp_path, bank, pipe)
    assert not model.fast.enabled
    assert "FunctionTransformer" in model.fast.reason
    sample = X.head(5)
    result, _ = model.score_records(sample.to_dict(orient="records"), "predict", 10)
    assert result == pipe.predict(sample).tolist()


def test_start_up_check_turns_off_a_disagreeing_fast_path(
        bank_model_dir: Path, bank: pd.DataFrame, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Compile a different fitted pipeline (other seed, other data) in place of the served
    one: its answers differ, so the server must refuse it and serve the pipeline."""
    sample = bank.sample(3000, random_state=9)
    X, y = sample.drop(columns=["y"]), sample["y"]
    other = Pipeline([("featurize", featurizer(X)),
                      ("model", LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1))]).fit(X, y)
    real_compile = fastpath.compile_pipeline
    monkeypatch.setattr(fastpath, "compile_pipeline",
                        lambda pipeline, schema, is_classifier:
                        real_compile(other, schema, is_classifier))
    with caplog.at_level(logging.WARNING, logger="slipway.serving"):
        model = LoadedModel(bank_model_dir)
    assert not model.fast.enabled
    assert "disagrees with the pipeline" in model.fast.reason
    assert "fast path off" in caplog.text
    records = bank.drop(columns=["y"]).head(4).to_dict(orient="records")
    result, _ = model.score_records(records, "predict", 10)
    assert result == model.pipeline.predict(bank.drop(columns=["y"]).head(4)).tolist()


def test_live_check_turns_off_the_fast_path_when_the_model_changes_under_it(
        bank_model_dir: Path, bank: pd.DataFrame) -> None:
    model = LoadedModel(bank_model_dir, check_every=1)
    assert model.fast.enabled
    records = bank.drop(columns=["y"]).head(2).to_dict(orient="records")
    model.score_records(records, "predict", 10)
    assert model.fast.enabled
    # the served pipeline's scaler changes after compilation: the compiled copy is now wrong
    model.pipeline[0].named_transformers_["num"]["scale"].mean_ += 1.0
    result, _ = model.score_records(records, "predict_proba", 10)
    assert not model.fast.enabled
    assert "live request" in model.fast.reason
    want = model.pipeline.predict_proba(bank.drop(columns=["y"]).head(2))
    assert np.allclose([[r["no"], r["yes"]] for r in result], want)
