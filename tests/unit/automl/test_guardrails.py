import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slipway.automl.guardrails import GuardrailReport, check_target, run_guardrails
from slipway.core.errors import InvalidInput

BANK = Path("/work/shared/data/bankmarketing/train.csv")


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A clean binary-classification frame with a weak, noisy signal."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "color": rng.choice(["red", "green", "blue"], size=n),
            "count": rng.integers(0, 5, size=n),
            "y": np.where(x + rng.normal(scale=2, size=n) > 0, "yes", "no"),
        }
    )


def _statuses(report: GuardrailReport) -> dict[str, str]:
    return {g.name: g.status for g in report.guardrails}


# --------------------------------------------------------------------------- check_target


@pytest.mark.parametrize(
    ("frame", "target", "task", "fragment"),
    [
        (pd.DataFrame({"a": [1, 2], "b": [0, 1]}), "label", "classification", "columns: a, b"),
        (pd.DataFrame({"a": [1, 2, 3], "y": [None] * 3}), "y", "classification", "only missing"),
        (pd.DataFrame({"a": [1, 2, 3], "y": ["k", "k", None]}), "y", "classification", "constant"),
        (pd.DataFrame({"a": [1, 2, 3], "y": ["p", "p", "q"]}), "y", "classification", "['q']"),
        (pd.DataFrame({"a": [1, 2, 3], "y": ["p", "q", "q"]}), "y", "regression", "not numeric"),
        (pd.DataFrame({"a": [1, 2], "y": [1.0, 2.0]}), "y", "forecasting", "Unknown task"),
        (pd.DataFrame({"a": [1, 2], "y": [1.0, np.inf]}), "y", "regression", "infinite"),
        (pd.DataFrame({"y": np.arange(40.0)}), "y", "classification", "and 30 more"),
    ],
)
def test_check_target_refuses_unlearnable_targets(
    frame: pd.DataFrame, target: str, task: str, fragment: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        check_target(frame, target, task)
    assert fragment in str(info.value)


def test_check_target_accepts_good_targets() -> None:
    check_target(_frame(), "y", "classification")
    check_target(pd.DataFrame({"a": [1, 2], "y": [0.5, 1.5]}), "y", "regression")


def test_null_target_rows_are_counted_and_left_out() -> None:
    df = _frame()
    df.loc[[3, 7, 11], "y"] = None
    report = run_guardrails(df, "y", "classification")
    assert report.rows_dropped == 3 and report.rows == len(df) - 3
    missing = report.get("missing_target")
    assert missing.status == "done" and missing.details == {"rows_dropped": 3}
    assert report.get("missing_values").status == "passed"  # the target is not a feature


# --------------------------------------------------------------------------- guardrails


def test_clean_frame_passes_everything() -> None:
    report = run_guardrails(_frame(), "y", "classification")
    assert set(_statuses(report).values()) == {"passed"}
    assert report.drop_columns == []
    json.dumps(report.to_dict())  # JSON-serialisable as is


def test_class_imbalance_and_too_few_rows_per_class() -> None:
    df = _frame(300)
    df["y"] = ["a"] * 240 + ["b"] * 55 + ["c"] * 5
    report = run_guardrails(df, "y", "classification")
    imbalance = report.get("class_imbalance")
    assert imbalance.status == "alerted"
    assert imbalance.details["class_counts"] == {"a": 240, "b": 55, "c": 5}
    assert imbalance.details["minority_class"] == "c"
    few = report.get("too_few_rows_per_class")
    assert few.status == "alerted" and few.details["classes"] == {"c": 5}
    assert "'c'" in few.message
    balanced = run_guardrails(df.assign(y=np.tile(list("abcde"), 60)), "y", "classification")
    assert balanced.get("class_imbalance").status == "passed"
    assert "class_imbalance" not in _statuses(
        run_guardrails(df.assign(y=np.arange(300.0)), "y", "regression")
    )


def test_missing_values_are_reported_per_column() -> None:
    df = _frame()
    df.loc[:9, "x"] = np.nan
    df.loc[:49, "color"] = None
    missing = run_guardrails(df, "y", "classification").get("missing_values")
    assert missing.status == "done"
    assert missing.details["columns"] == {
        "x": {"missing": 10, "fraction": 0.05},
        "color": {"missing": 50, "fraction": 0.25},
    }


def test_constant_columns_are_dropped_but_missingness_indicators_kept() -> None:
    df = _frame()
    df["same"] = 7
    df["empty"] = np.nan
    df["flag"] = np.where(np.arange(len(df)) % 3 == 0, "set", None)  # one value + missing
    report = run_guardrails(df, "y", "classification")
    assert report.get("constant_columns").details["columns"] == ["same", "empty"]
    assert report.drop_columns == ["same", "empty"]
    assert "empty" not in report.get("missing_values").details["columns"]


def test_id_like_columns_are_dropped_but_unique_measurements_kept() -> None:
    n = 200
    rng = np.random.default_rng(1)
    df = _frame(n)
    df["row"] = rng.permutation(n)  # dense integers: a row number
    df["customer_id"] = rng.choice(10**9, size=n, replace=False)  # sparse, but named like an id
    df["ref"] = [f"A-{i:05d}" for i in range(n)]
    df["income"] = rng.choice(10**9, size=n, replace=False)  # unique, sparse: a measurement
    df["ratio"] = rng.uniform(size=n)  # unique floats
    df["when"] = pd.date_range("2024-01-01", periods=n, freq="h").astype(str)  # unique dates
    report = run_guardrails(df, "y", "classification")
    assert report.get("id_like_columns").status == "done"
    assert report.drop_columns == ["row", "customer_id", "ref"]
    assert report.column_types["when"] == "datetime"


def test_high_cardinality_categoricals() -> None:
    n = 300
    rng = np.random.default_rng(2)
    df = _frame(n)
    df["zip"] = rng.choice([f"z{i}" for i in range(60)], size=n)
    labels = [f"n{i}" for i in range(n - 10)]
    df["name"] = labels + labels[:10]  # 290 distinct values in 300 rows
    words = np.array(["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"])
    df["review"] = [" ".join(rng.choice(words, size=6)) + f" {i}" for i in range(n)]
    report = run_guardrails(df, "y", "classification")
    check = report.get("high_cardinality_categoricals")
    assert check.status == "done"
    assert check.details["target_encoded"] == {"zip": 60}
    assert check.details["dropped"] == {"name": 290}
    assert check.details["text"] == {"review": n}
    assert report.drop_columns == ["name"]


def test_duplicate_rows_and_conflicting_labels() -> None:
    df = _frame(100)
    repeated = df.iloc[[0, 1, 1]]
    flipped = df.iloc[[2]].assign(y="no" if df.loc[2, "y"] == "yes" else "yes")
    df = pd.concat([df, repeated, flipped], ignore_index=True)
    check = run_guardrails(df, "y", "classification").get("duplicate_rows")
    assert check.status == "alerted"
    assert check.details == {"duplicate_rows": 3, "conflicting_label_rows": 2}


def test_target_leakage_alerts_without_dropping() -> None:
    df = _frame(400)
    df["y_again"] = df["y"].map({"yes": "Y", "no": "N"})
    report = run_guardrails(df, "y", "classification")
    leak = report.get("target_leakage")
    assert leak.status == "alerted" and leak.details["columns"] == ["y_again"]
    assert "y_again" in leak.message and "y_again" not in report.drop_columns
    # a threshold on a number that equals the label: caught by the AUC
    df = _frame(400).assign(score=lambda d: (d["y"] == "yes") * 10 + np.arange(400) / 1000)
    assert run_guardrails(df, "y", "classification").get("target_leakage").details["columns"] == ["score"]


def test_target_leakage_in_regression() -> None:
    rng = np.random.default_rng(3)
    n = 500
    y = rng.exponential(size=n)
    df = pd.DataFrame({"noise": rng.normal(size=n), "signal": y + rng.normal(size=n), "y": y})
    assert run_guardrails(df, "y", "regression").get("target_leakage").status == "passed"
    df["cost_total"] = 3 * y + 1
    leak = run_guardrails(df, "y", "regression").get("target_leakage")
    assert leak.status == "alerted" and leak.details["columns"] == ["cost_total"]


def test_unknown_column_type_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="Unknown type"):
        run_guardrails(_frame(), "y", "classification", column_types={"x": "float"})


# --------------------------------------------------------------------------- bank marketing


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    if not BANK.exists():
        pytest.fail(f"real data missing: {BANK}")
    return pd.read_csv(BANK)


def test_bank_marketing(bank: pd.DataFrame) -> None:
    report = run_guardrails(bank, "y", "classification")
    assert report.rows == 26_361
    assert report.get("class_imbalance").status == "alerted"
    assert report.drop_columns == []
    leak = report.get("target_leakage")
    assert leak.status == "passed"
    assert 0.7 < leak.details["strongest"]["duration"] < 0.95  # predictive, not deterministic


def test_bank_marketing_with_leak_and_row_id(bank: pd.DataFrame) -> None:
    df = bank.assign(y_copy=bank["y"], row_id=np.arange(len(bank)))
    report = run_guardrails(df, "y", "classification")
    leak = report.get("target_leakage")
    assert leak.status == "alerted" and leak.details["columns"] == ["y_copy"]
    assert report.drop_columns == ["row_id"]
    assert report.get("id_like_columns").details["columns"] == ["row_id"]
