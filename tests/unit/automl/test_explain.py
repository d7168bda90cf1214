import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from slipway.automl.explain import _sample_rows, explain_model
from slipway.automl.metrics import score
from slipway.core.errors import InvalidInput

NUMBERS = ["signal", "noise"]
CATEGORIES = ["color", "city"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], size=n),
            "city": rng.choice(["Oslo", "Lima", "Pune", "Kobe"], size=n),
        }
    )


def _pipeline(model: object) -> Pipeline:
    features = ColumnTransformer(
        [
            ("num", StandardScaler(), NUMBERS),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
        ]
    )
    return Pipeline([("features", features), ("model", model)])


def test_the_column_carrying_the_signal_ranks_first() -> None:
    X = _frame(600)
    y = np.where(X["signal"] > 0, "yes", "no")
    model = _pipeline(LogisticRegression()).fit(X, y)
    explanations = explain_model(model, X, y, task="classification", metric="accuracy")
    assert explanations[0]["column"] == "signal"
    assert {e["column"] for e in explanations} == set(X.columns)
    assert all(set(e) == {"column", "importance", "std"} for e in explanations)
    assert all(type(e["importance"]) is float and e["std"] >= 0 for e in explanations)
    importances = [e["importance"] for e in explanations]
    assert importances == sorted(importances, reverse=True)
    assert explanations[0]["importance"] > 0.3  # shuffling it drops accuracy to ~0.5
    assert all(abs(e["importance"]) < 0.05 for e in explanations[1:])
    again = explain_model(model, X, y, task="classification", metric="accuracy")
    assert again == explanations  # the seed makes it reproducible


def test_probability_metric_on_a_stratified_sample_keeps_rare_classes() -> None:
    X = _frame(5000, seed=1)
    y = np.select([X["signal"] < -0.5, X["signal"] < 0.5], ["low", "mid"], "high").astype(object)
    y[:3] = "rare"  # three rows: a random 10% sample would usually miss the class
    model = _pipeline(LogisticRegression()).fit(X, y)
    explanations = explain_model(
        model, X, y, task="classification", metric="AUC_macro", max_rows=500, n_repeats=2
    )
    assert explanations[0]["column"] == "signal"
    assert explanations[0]["importance"] > 0.1
    assert all(np.isfinite(e["importance"]) for e in explanations)


def test_sample_is_stratified_and_bounded() -> None:
    y = np.array(["a"] * 9000 + ["b"] * 997 + ["c"] * 3, dtype=object)
    rows = _sample_rows(y, 1000, np.random.default_rng(0), stratify=True)
    assert len(set(rows)) == len(rows) and 995 <= len(rows) <= 1005
    picked = pd.Series(y[rows]).value_counts()
    assert picked["a"] == 900 and picked["b"] == 100 and picked["c"] == 2
    assert len(_sample_rows(y, 20_000, np.random.default_rng(0), stratify=True)) == len(y)


def test_error_metrics_count_the_increase_in_error_as_importance() -> None:
    X = _frame(400, seed=2)
    y = 3 * X["signal"].to_numpy() + (X["city"] == "Oslo") * 0.5
    model = _pipeline(LinearRegression()).fit(X, y)
    explanations = explain_model(
        model, X, y, task="regression", metric="root_mean_squared_error", n_repeats=2
    )
    by_column = {e["column"]: e["importance"] for e in explanations}
    assert explanations[0]["column"] == "signal"
    # shuffling `signal` leaves an RMSE of about 3 * sqrt(2) against a perfect fit
    assert 3.0 < by_column["signal"] < 5.5
    assert 0 < by_column["city"] < by_column["signal"]
    assert abs(by_column["noise"]) < 0.05


def test_undefined_primary_metric_falls_back_to_r2() -> None:
    X = _frame(300, seed=3)
    y = X["signal"].to_numpy()  # negative values: RMSLE is undefined
    model = _pipeline(LinearRegression()).fit(X, y)
    assert np.isnan(score("root_mean_squared_log_error", "regression", y, model.predict(X)))
    explanations = explain_model(
        model, X, y, task="regression", metric="root_mean_squared_log_error", n_repeats=1
    )
    assert explanations[0]["column"] == "signal"
    assert explanations[0]["importance"] > 1.0  # R^2 falls from 1 to about -1


def test_bad_arguments_raise_invalid_input() -> None:
    X = _frame(50)
    y = np.where(X["signal"] > 0, 1, 0)
    model = _pipeline(LogisticRegression()).fit(X, y)
    with pytest.raises(InvalidInput, match="not a classification metric"):
        explain_model(model, X, y, task="classification", metric="r2_score")
    with pytest.raises(InvalidInput, match="must match"):
        explain_model(model, X, y[:10], task="classification", metric="accuracy")
