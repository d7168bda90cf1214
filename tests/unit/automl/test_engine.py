"""run_automl end to end on small data: tasks, events, failures, reproducibility, model dir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.pipeline import Pipeline

from slipway.automl import AutoMLResult, AutoMLSettings, TrialResult, run_automl
from slipway.compute import LocalExecutor
from slipway.core.errors import InvalidInput
from slipway.core.model_dir import load_model_dir


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    ex = LocalExecutor(2, preload=("slipway.automl.trial",))
    yield ex
    ex.shutdown(cancel=True)


@pytest.fixture(scope="module")
def bank(bank_csv: Path) -> pd.DataFrame:
    df = pd.read_csv(bank_csv)
    yes, no = df[df.y == "yes"], df[df.y == "no"]
    n_yes = round(3000 * len(yes) / len(df))
    return (
        pd.concat([yes.sample(n_yes, random_state=0), no.sample(3000 - n_yes, random_state=0)])
        .sample(frac=1, random_state=0)
        .reset_index(drop=True)
    )


def _run(
    df: pd.DataFrame, executor: Any, events: list[dict[str, Any]] | None = None, **kwargs: Any
) -> AutoMLResult:
    # A budget under two minutes keeps the explanation small; iterations end the runs.
    settings = AutoMLSettings(**{"timeout_s": 100, "concurrency": 2, **kwargs})
    sink = events if events is not None else []
    return run_automl(df, settings, executor=executor, on_event=sink.append)


def _check_events(result: AutoMLResult, events: list[dict[str, Any]]) -> None:
    assert events[0]["type"] == "guardrails" and events[-1]["type"] == "done"
    finished = [e["trial"]["trial_id"] for e in events if e["type"] == "trial_finished"]
    assert sorted(finished) == [t.trial_id for t in result.trials]  # each reported once
    started = {e["trial_id"] for e in events if e["type"] in ("trial_started", "ensemble_started")}
    assert started == set(finished)


def test_binary_classification_on_bank_slice(
    bank: pd.DataFrame, executor: LocalExecutor, tmp_path: Path
) -> None:
    events: list[dict[str, Any]] = []
    result = _run(
        bank,
        executor,
        events,
        task="classification",
        target="y",
        primary_metric="AUC_weighted",
        iterations=4,
        cv_folds=3,
    )
    _check_events(result, events)
    search = [t for t in result.trials if t.source != "ensemble"]
    assert len(search) == 4 and all(isinstance(t, TrialResult) for t in search)
    assert {"VotingEnsemble", "StackEnsemble"} <= {t.algorithm for t in result.trials}
    completed = [t for t in result.trials if t.status == "Completed"]
    assert len(completed) >= 4
    best = result.best_trial
    assert best is not None and best.model is not None and best.score is not None
    assert best.score > 0.9 and best.metrics["AUC_weighted"] == pytest.approx(best.score)
    assert "roc_curve" in str(best.charts.keys()) or best.charts
    assert result.leaderboard[0]["trial_id"] == result.best_trial_id
    scores = [r["score"] for r in result.leaderboard if r["status"] == "Completed"]
    assert scores == sorted(scores, reverse=True)
    assert all(t.predict_latency_ms is not None and t.predict_latency_ms > 0 for t in completed)
    assert ", LightGBM" in search[0].algorithm
    assert isinstance(result.best_model, Pipeline)
    assert result.signature.input_names == [c for c in bank.columns if c != "y"]
    assert {e["column"] for e in result.explanation} <= set(bank.columns)
    assert result.explanation and result.guardrails["guardrails"]
    json.dumps(result.to_dict())  # what the service layer stores is plain JSON
    json.dumps(events)
    _check_saved_model(result, bank, tmp_path / "model")


def _check_saved_model(result: AutoMLResult, bank: pd.DataFrame, path: Path) -> None:
    result.save_best(path)
    loaded = load_model_dir(path)
    rows = bank.drop(columns="y").head(4).copy()
    rows.loc[0, "job"] = "astronaut"  # never seen
    rows.loc[1, "age"] = np.nan
    rows.loc[2, "marital"] = np.nan
    rows.loc[3, "month"] = None
    pred = loaded.pipeline.predict(rows)
    assert set(pred) <= {"yes", "no"}
    proba = loaded.pipeline.predict_proba(rows)
    assert proba.shape == (4, 2) and np.isfinite(proba).all()
    raw = pd.DataFrame(loaded.signature.example)  # the JSON example rows predict as well
    assert len(loaded.pipeline.predict(raw)) == len(raw)
    assert loaded.signature.classes == ["no", "yes"]
    assert loaded.metrics["AUC_weighted"] == pytest.approx(result.best_trial.score)  # type: ignore[union-attr]


def test_multiclass_on_iris(executor: LocalExecutor) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    df = X.assign(species=np.array(["setosa", "versicolor", "virginica"])[y])
    events: list[dict[str, Any]] = []
    result = _run(
        df,
        executor,
        events,
        task="classification",
        target="species",
        primary_metric="accuracy",
        iterations=4,
        cv_folds=3,
    )
    _check_events(result, events)
    assert result.best_trial is not None and result.best_trial.score is not None
    assert result.best_trial.score > 0.9
    assert result.best_model.predict_proba(df.head(2)).shape == (2, 3)
    assert set(result.best_model.predict(df)) <= {"setosa", "versicolor", "virginica"}


def test_regression_on_diabetes_with_holdout(executor: LocalExecutor) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    df = X.assign(progression=y)
    result = _run(
        df,
        executor,
        task="regression",
        target="progression",
        iterations=4,
        validation_size=0.25,
        allowed_learners=["LightGBM", "ElasticNet"],
    )
    assert result.best_trial is not None and result.best_trial.score is not None
    assert result.best_trial.score > 0.2  # r2 on held-out rows
    assert {t.learner for t in result.trials if t.source != "ensemble"} <= {"LightGBM", "ElasticNet"}
    pred = result.best_model.predict(df.head(5))
    assert pred.shape == (5,) and np.isfinite(pred).all()


def test_a_failing_learner_is_recorded_and_the_search_goes_on(executor: LocalExecutor) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    df = X.assign(species=y)
    result = _run(
        df,
        executor,
        task="classification",
        target="species",
        iterations=3,
        allowed_learners=["LogisticRegression", "ExtraTrees"],
        ensembles=False,
        learner_params={"ExtraTrees": {"min_samples_leaf": 0}},
    )
    assert len(result.trials) == 3
    failed = [t for t in result.trials if t.status == "Failed"]
    assert failed and all(t.learner == "ExtraTrees" for t in failed)
    assert all("min_samples_leaf" in (t.error or "") for t in failed)
    assert any(t.status == "Completed" for t in result.trials)
    assert result.best_trial is not None and result.best_trial.learner == "LogisticRegression"


def test_same_seed_gives_the_same_leaderboard(executor: LocalExecutor) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    df = X.assign(species=y)

    def board() -> list[tuple[Any, ...]]:
        result = _run(
            df,
            executor,
            task="classification",
            target="species",
            iterations=5,
            concurrency=1,
            seed=3,
            cv_folds=3,
            ensembles=False,
            allowed_learners=["LightGBM", "LogisticRegression"],
        )
        return [(r["trial_id"], r["algorithm"], r["score"], r["status"]) for r in result.leaderboard]

    first = board()
    assert len(first) == 5
    assert board() == first


def test_should_stop_returns_the_best_so_far(executor: LocalExecutor) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    df = X.assign(species=y)
    events: list[dict[str, Any]] = []

    def stop() -> bool:
        return any(e["type"] == "trial_finished" and e["trial"]["status"] == "Completed" for e in events)

    settings = AutoMLSettings(task="classification", target="species", timeout_s=300, concurrency=1)
    result = run_automl(df, settings, executor=executor, on_event=events.append, should_stop=stop)
    assert result.stopped == "canceled"
    assert result.best_model is not None
    assert len([t for t in result.trials if t.source != "ensemble"]) <= 3
    _check_events(result, events)


def test_bad_data_is_invalid_input(executor: LocalExecutor) -> None:
    df = pd.DataFrame({"a": [1, 2, 3, 4], "y": [1, 1, 1, 1]})
    with pytest.raises(InvalidInput):
        _run(df, executor, task="classification", target="y")
    with pytest.raises(InvalidInput, match=r"(?i)target"):
        _run(df, executor, task="classification", target="missing")
    with pytest.raises(InvalidInput, match="exclude_columns"):
        _run(df.assign(y=[0, 1, 0, 1]), executor, task="classification", target="y", exclude_columns=["nope"])


def test_datetime_text_and_featurization_off(executor: LocalExecutor, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 240
    words = np.array(
        [
            "great service fast delivery",
            "slow and broken item",
            "okay product average price",
            "terrible support never again",
        ]
    )
    texts = rng.choice(words, n)
    df = pd.DataFrame(
        {
            "when": pd.date_range("2021-01-01", periods=n, freq="13h"),
            "review": [f"{t} order {i}" for i, t in enumerate(texts)],
            "amount": rng.normal(size=n),
            "happy": np.isin(texts, words[[0, 2]]),
        }
    )
    for featurization, iterations in (("auto", 2), ("off", 1)):
        result = _run(
            df,
            executor,
            task="classification",
            target="happy",
            iterations=iterations,
            cv_folds=3,
            featurization=featurization,
            ensembles=False,
            allowed_learners=["LightGBM", "LogisticRegression"],
        )
        types = {c.name: c.type for c in result.signature.inputs}
        assert types == {"when": "datetime", "review": "text", "amount": "numeric"}
        assert result.best_model is not None
        if featurization == "auto":
            assert result.best_trial.score > 0.9  # type: ignore[union-attr]
            assert result.featurization["text"] == ["review"]
            path = result.save_best(tmp_path / "text-model")
            rows = pd.DataFrame(load_model_dir(path).signature.example)
            assert len(load_model_dir(path).pipeline.predict(rows)) == 2
