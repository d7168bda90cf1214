"""Conformance: every learner the engine can choose follows the scikit-learn contract."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_wine
from sklearn.pipeline import Pipeline

from slipway.automl.estimators import LEARNERS, XGBoostClassifier, get_learner, learner_names
from slipway.automl.featurize import build_featurizer, infer_column_types, plan_columns
from slipway.automl.search import PORTFOLIO

CASES = [(task, name) for task in ("classification", "regression") for name in learner_names(task)]


def _data(task: str) -> tuple[pd.DataFrame, np.ndarray]:
    if task == "classification":
        X, y = load_wine(return_X_y=True, as_frame=True)
        labels = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y.to_numpy()]
        return X.assign(region=np.where(X.index % 2 == 0, "north", "south")), labels
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.head(200), y.to_numpy()[:200]


def _small(name: str, task: str) -> dict[str, object]:
    params = next((dict(p) for n, p in PORTFOLIO[task] if n == name), {})
    if "n_estimators" in params:
        params["n_estimators"] = 20
    return params


def test_the_registry_covers_the_issue_learners() -> None:
    assert {"LightGBM", "XGBoost", "RandomForest", "ExtraTrees", "LogisticRegression"} <= set(
        learner_names("classification")
    )
    assert {"LightGBM", "XGBoost", "RandomForest", "ExtraTrees", "ElasticNet"} <= set(
        learner_names("regression")
    )
    assert ("CatBoost" in LEARNERS) == _has_catboost()


def _has_catboost() -> bool:
    import importlib.util

    return importlib.util.find_spec("catboost") is not None


@pytest.mark.parametrize(("task", "name"), CASES)
def test_learner_follows_the_estimator_contract(task: str, name: str) -> None:
    X, y = _data(task)
    learner = get_learner(name)
    est = learner.make(task, _small(name, task), seed=0, n_jobs=1)
    params = est.get_params()
    assert clone(est).get_params().keys() == params.keys()
    plan = plan_columns(X, infer_column_types(X))
    pipe = Pipeline([("featurize", build_featurizer(plan, learner.style, task)), ("learner", est)])
    assert pipe.fit(X, y) is pipe
    assert est.fit(pipe[0].transform(X), y) is est
    pred = pipe.predict(X.head(5))
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X.head(5)), pred)
    if task == "classification":
        assert set(pred) <= set(y)
        assert list(pipe.classes_) == sorted(set(y))
        proba = restored.predict_proba(X.head(5))
        assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1)


@pytest.mark.parametrize(("task", "name"), CASES)
def test_search_space_yields_buildable_params(task: str, name: str) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = get_learner(name).space(trial, task)
    est = get_learner(name).make(task, params)
    assert clone(est).get_params()


def test_xgboost_classifier_accepts_string_labels() -> None:
    X, y = _data("classification")
    Z = X.drop(columns="region").to_numpy()
    model = XGBoostClassifier(n_estimators=5, max_depth=2)
    model.fit(Z, y)
    assert list(model.classes_) == ["barbera", "barolo", "grignolino"]
    assert set(model.predict(Z)) <= set(y)
    model = XGBoostClassifier(n_estimators=5).fit(Z, np.where(y == "barolo", "a", "b"))
    assert list(model.classes_) == ["a", "b"]
    assert model.predict_proba(Z).shape == (len(y), 2)
