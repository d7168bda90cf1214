"""Ensembles: Caruana selection, voting and stacking estimators."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from slipway.automl.ensemble import (
    StackEnsemble,
    VotingEnsemble,
    caruana_weights,
    plan_stack,
    plan_voting,
    share_featurizers,
)


def _auc(y: np.ndarray) -> object:
    return lambda rows, pred: float(roc_auc_score(y[rows], pred[:, 1]))


def test_caruana_prefers_informative_members() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    good = np.column_stack([1 - (y * 0.6 + rng.random(500) * 0.4), y * 0.6 + rng.random(500) * 0.4])
    noise = rng.random((500, 2))
    counts = caruana_weights(
        [noise, good, noise.copy()],
        _auc(y),
        np.arange(500),  # type: ignore[arg-type]
        greater_is_better=True,
        rounds=10,
        max_members=2,
    )
    assert counts[1] == counts.max() and counts[1] > 0
    weights, nested = plan_voting(
        [noise, good],
        y,
        _auc(y),
        classification=True,  # type: ignore[arg-type]
        greater_is_better=True,
        seed=0,
    )
    assert weights[1] > 0 and nested.shape == good.shape
    assert roc_auc_score(y, nested[:, 1]) > 0.9


def test_plan_stack_gives_a_meta_learner_and_nested_predictions() -> None:
    rng = np.random.default_rng(1)
    y = np.where(rng.random(300) > 0.5, "yes", "no").astype(object)
    signal = (y == "yes") * 0.5 + rng.random(300) * 0.5
    oof = [np.column_stack([1 - signal, signal]), rng.random((300, 2))]
    meta, nested = plan_stack(oof, y, "classification", seed=0)
    assert list(meta.classes_) == ["no", "yes"]
    assert nested.shape == (300, 2) and np.allclose(nested.sum(axis=1), 1)


def _members() -> list[tuple[str, Pipeline]]:
    return [
        ("lr", Pipeline([("featurize", StandardScaler()), ("learner", LogisticRegression(max_iter=500))])),
        (
            "tree",
            Pipeline(
                [
                    ("featurize", StandardScaler()),
                    ("learner", DecisionTreeClassifier(max_depth=3, random_state=0)),
                ]
            ),
        ),
    ]


@pytest.mark.parametrize("kind", ["voting", "stack"])
def test_ensembles_follow_the_estimator_contract(kind: str) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y.to_numpy()]
    est = VotingEnsemble(_members(), weights=[2, 1]) if kind == "voting" else StackEnsemble(_members(), cv=3)
    assert clone(est).get_params(deep=False).keys() == est.get_params(deep=False).keys()
    assert est.fit(X, labels) is est
    proba = est.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)
    assert (est.predict(X) == labels).mean() > 0.9
    restored = pickle.loads(pickle.dumps(Pipeline([("ensemble", est)])))
    np.testing.assert_allclose(restored.predict_proba(X), proba)


def test_from_fitted_members_and_shared_featurizers_for_regression() -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    members = [
        (n, Pipeline([("featurize", StandardScaler()), ("learner", Ridge(alpha=a))]).fit(X, y))
        for n, a in (("a", 0.1), ("b", 10.0))
    ]
    share_featurizers([m for _, m in members])
    assert members[0][1].steps[0][1] is members[1][1].steps[0][1]
    voting = VotingEnsemble.from_fitted(members, [1, 3], "regression", None)
    expected = 0.25 * members[0][1].predict(X) + 0.75 * members[1][1].predict(X)
    np.testing.assert_allclose(voting.predict(X), expected)
    meta = Ridge().fit(np.column_stack([m.predict(X) for _, m in members]), y)
    stack = StackEnsemble.from_fitted(members, meta, "regression", None)
    assert stack.predict(pd.DataFrame(X).head(3)).shape == (3,)
    with pytest.raises(AttributeError):
        voting.predict_proba(X)


def test_an_ensemble_that_cannot_be_planned_is_a_failed_trial() -> None:
    from slipway.automl.ensemble import plan_ensembles
    from slipway.automl.featurize import ColumnPlan
    from slipway.automl.trial import TrialData, TrialResult

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    rows = np.arange(100)
    data = TrialData(
        X=pd.DataFrame({"a": rng.random(100)}),
        y=y,
        task="classification",
        metric="AUC_weighted",
        classes=[0, 1],
        folds=[(rows[:50], rows[50:])],
        plan=ColumnPlan(types={"a": "numeric"}, numeric=["a"]),
        sample_weight=None,
        greater_is_better=True,
    )
    trials = [TrialResult(i, "x", "LightGBM", {}, "Completed", score=0.5) for i in range(2)]
    oofs = {0: rng.random((50, 2)), 1: rng.random((7, 2))}  # a broken prediction
    events: list[dict[str, object]] = []
    plans = plan_ensembles(data, trials, oofs, 2, events.append)
    assert [p.trial.trial_id for p in plans] == [2, 3]
    assert all(p.trial.status == "Failed" and p.trial.error for p in plans)
    assert [e["trial_id"] for e in events] == [2, 3]
