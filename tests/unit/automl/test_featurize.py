"""Automatic featurization: column types, encoders by cardinality, datetimes, text."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from slipway.automl.featurize import (
    FOREST,
    GBM,
    LINEAR,
    DatetimeFeatures,
    build_featurizer,
    infer_column_types,
    plan_columns,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    words = np.array(["red apple pie", "green tea cake", "blue cheese sandwich", "hot soup"])
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype(float),
            "color": pd.Series(rng.choice(["red", "green", "blue"], n), dtype="str"),
            "city": pd.Series([f"city{i % 60}" for i in range(n)], dtype="str"),
            "signup": pd.date_range("2020-01-01", periods=n, freq="37h"),
            "review": [f"{w} number {i} was really quite good" for i, w in enumerate(rng.choice(words, n))],
            "flag": rng.random(n) > 0.5,
        }
    ).assign(age=lambda d: d.age.mask(d.index % 10 == 0))


def test_column_types_are_inferred_and_overridable(frame: pd.DataFrame) -> None:
    types = infer_column_types(frame)
    assert types == {
        "age": "numeric",
        "color": "categorical",
        "city": "categorical",
        "signup": "datetime",
        "review": "text",
        "flag": "boolean",
    }
    assert infer_column_types(frame, {"age": "categorical"})["age"] == "categorical"
    dates = pd.DataFrame({"d": pd.Series(["2021-03-04", "2022-05-06"] * 20, dtype="str")})
    assert infer_column_types(dates) == {"d": "datetime"}


def test_plan_encodes_by_cardinality(frame: pd.DataFrame) -> None:
    plan = plan_columns(frame, infer_column_types(frame))
    assert plan.numeric == ["age"]
    assert plan.low_cardinality == ["color", "flag"]
    assert plan.high_cardinality == ["city"]
    assert plan.datetime == ["signup"] and plan.text == ["review"]
    off = plan_columns(frame, infer_column_types(frame), mode="off")
    assert off.datetime == [] and off.text == [] and "city" in off.low_cardinality


@pytest.mark.parametrize("style", [GBM, FOREST, LINEAR])
@pytest.mark.parametrize("mode", ["auto", "off"])
def test_featurizer_handles_unseen_values_and_missing(frame: pd.DataFrame, style: str, mode: str) -> None:
    y = (frame["age"].fillna(50) > 50).to_numpy()
    plan = plan_columns(frame, infer_column_types(frame), mode=mode)
    ct = build_featurizer(plan, style, "classification").fit(frame, y)
    width = ct.transform(frame.head(3)).shape[1]
    new = pd.DataFrame(
        {
            "age": [np.nan, 40.0],
            "color": ["purple", np.nan],
            "city": ["atlantis", None],
            "signup": [pd.NaT, pd.Timestamp("2030-01-01")],
            "review": [None, "never seen words"],
            "flag": [True, False],
            "extra": [1, 2],
        }
    )
    out = ct.transform(new)
    dense = out.toarray() if hasattr(out, "toarray") else np.asarray(out, dtype=float)
    assert dense.shape == (2, width)
    if style != GBM:
        assert np.isfinite(dense).all()
    restored = pickle.loads(pickle.dumps(ct))
    again = restored.transform(new)
    np.testing.assert_allclose(again.toarray() if hasattr(again, "toarray") else again, dense)


def test_datetime_features_contract() -> None:
    X = pd.DataFrame({"t": pd.to_datetime(["2021-01-02 10:30", "2022-12-31 00:00", None])})
    est = DatetimeFeatures()
    assert est.fit(X) is est
    assert clone(est).get_params() == {}
    out = est.transform(X)
    assert out.shape == (3, 7)
    assert list(out[0, :4]) == [2021, 1, 2, 5]
    assert np.isnan(out[2]).all()
    assert list(est.get_feature_names_out())[:2] == ["t_year", "t_month"]
