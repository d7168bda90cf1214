import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from slipway.automl.metrics import (
    CLASSIFICATION_METRICS,
    GREATER_IS_BETTER,
    REGRESSION_METRICS,
    average_precision,
    compute_metrics,
    is_better,
    roc_auc,
    score,
)
from slipway.core.errors import InvalidInput

CLASSES = np.array(["cat", "dog", "eel"], dtype=object)


def _multiclass(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[codes]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return CLASSES[codes], CLASSES[proba.argmax(axis=1)], proba


def test_names_are_complete_and_directions_known() -> None:
    assert len(CLASSIFICATION_METRICS) == 21
    assert len(REGRESSION_METRICS) == 11
    assert set(GREATER_IS_BETTER) == set(CLASSIFICATION_METRICS) | set(REGRESSION_METRICS)
    assert GREATER_IS_BETTER["AUC_weighted"] and GREATER_IS_BETTER["spearman_correlation"]
    assert not GREATER_IS_BETTER["log_loss"]
    assert not GREATER_IS_BETTER["normalized_root_mean_squared_error"]


def test_multiclass_string_labels_match_sklearn() -> None:
    y, pred, proba = _multiclass()
    # pandas' default `str` dtype must work as well as object arrays
    got = compute_metrics("classification", pd.Series(y, dtype="str"), pred, proba, CLASSES)
    assert set(got) == set(CLASSIFICATION_METRICS)
    assert all(type(v) is float for v in got.values())
    onehot = label_binarize(y, classes=CLASSES)
    prf = {
        avg: skm.precision_recall_fscore_support(y, pred, labels=CLASSES, average=avg, zero_division=0)
        for avg in ("macro", "micro", "weighted")
    }
    counts = pd.Series(y).value_counts()
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "AUC_macro": skm.roc_auc_score(y, proba, multi_class="ovr", labels=CLASSES),
        "AUC_weighted": skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=CLASSES),
        "AUC_micro": skm.roc_auc_score(onehot, proba, average="micro"),
        "average_precision_score_macro": skm.average_precision_score(onehot, proba),
        "average_precision_score_micro": skm.average_precision_score(onehot, proba, average="micro"),
        "average_precision_score_weighted": skm.average_precision_score(onehot, proba, average="weighted"),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "log_loss": skm.log_loss(y, proba, labels=CLASSES),
        "matthews_correlation": skm.matthews_corrcoef(y, pred),
        "weighted_accuracy": skm.accuracy_score(y, pred, sample_weight=counts[y].to_numpy()),
    }
    for avg, (p, r, f, _) in prf.items():
        expected[f"precision_score_{avg}"] = p
        expected[f"recall_score_{avg}"] = r
        expected[f"f1_score_{avg}"] = f
    expected["norm_macro_recall"] = (expected["recall_score_macro"] - 1 / 3) / (1 - 1 / 3)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_hand_computed_small_case() -> None:
    y = ["a", "a", "a", "b"]
    pred = ["a", "a", "b", "b"]
    got = compute_metrics("classification", y, pred)
    assert got["accuracy"] == pytest.approx(0.75)
    # recall a = 2/3, b = 1 -> macro 5/6; normalized: (5/6 - 1/2) / (1/2) = 2/3
    assert got["recall_score_macro"] == pytest.approx(5 / 6)
    assert got["balanced_accuracy"] == pytest.approx(5 / 6)
    assert got["norm_macro_recall"] == pytest.approx(2 / 3)
    # precision a = 1, b = 1/2; weighted by support (3, 1) -> 7/8
    assert got["precision_score_weighted"] == pytest.approx(7 / 8)
    # weights 3 for class a rows, 1 for b: (3 + 3 + 0 + 1) / (3 + 3 + 3 + 1)
    assert got["weighted_accuracy"] == pytest.approx(7 / 10)
    assert "AUC_weighted" not in got  # no probabilities given


def test_binary_auc_weighted_is_plain_auc_and_1d_proba_is_accepted() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p1 = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    pred = (p1 > 0.5).astype(int)
    auc = skm.roc_auc_score(y, p1)
    two_columns = np.column_stack([1 - p1, p1])
    for proba in (two_columns, p1):
        got = compute_metrics("classification", y, pred, proba, classes=[0, 1])
        assert got["AUC_weighted"] == pytest.approx(auc)
        assert got["AUC_macro"] == pytest.approx(auc)
    micro = skm.roc_auc_score(np.eye(2)[y], two_columns, average="micro")
    assert got["AUC_micro"] == pytest.approx(micro)
    assert score("AUC_weighted", "classification", y, pred, p1) == pytest.approx(auc)


def test_class_absent_from_fold_gives_nan_only_where_undefined() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    pred = np.array([0, 2, 1, 1, 0, 0])
    proba = np.array(
        [[0.7, 0.2, 0.1], [0.3, 0.2, 0.5], [0.1, 0.8, 0.1], [0.2, 0.6, 0.2], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]]
    )
    got = compute_metrics("classification", y, pred, proba, classes=[0, 1, 2])
    assert math.isnan(got["AUC_macro"])
    assert math.isnan(got["average_precision_score_macro"])
    auc0 = skm.roc_auc_score(y == 0, proba[:, 0])
    auc1 = skm.roc_auc_score(y == 1, proba[:, 1])
    assert got["AUC_weighted"] == pytest.approx((3 * auc0 + 3 * auc1) / 6)
    assert got["accuracy"] == pytest.approx(4 / 6)
    # recall of the absent class counts as 0 (zero_division=0): (2/3 + 2/3 + 0) / 3
    assert got["recall_score_macro"] == pytest.approx(4 / 9)
    assert got["balanced_accuracy"] == pytest.approx(2 / 3)
    assert not math.isnan(got["log_loss"]) and not math.isnan(got["AUC_micro"])


def test_never_predicted_class_uses_zero_division_without_warnings() -> None:
    y = ["x", "y", "y", "x"]
    pred = ["x", "x", "x", "x"]
    got = compute_metrics("classification", y, pred)
    assert got["precision_score_macro"] == pytest.approx(0.25)  # x: 2/4, y: 0 (never predicted)
    assert got["f1_score_macro"] == pytest.approx((2 / 3) / 2)
    assert got["matthews_correlation"] == 0.0


def test_log_loss_renormalizes_and_clips() -> None:
    y = [0, 1]
    got = score("log_loss", "classification", y, [0, 0], [[1.0, 0.0], [1.0, 0.0]])
    assert math.isfinite(got) and got > 15  # -log(eps)/2, never inf
    unnormalized = score("log_loss", "classification", y, [0, 1], [[2.0, 2.0], [1.0, 3.0]])
    assert unnormalized == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)


@pytest.mark.parametrize("decimals", [1, 3, 12])  # heavy ties to none
def test_ranking_curves_match_sklearn_with_ties(decimals: int) -> None:
    rng = np.random.default_rng(decimals)
    truth = rng.integers(0, 2, 2000)
    scores = np.round(rng.uniform(size=2000) + 0.2 * truth, decimals)
    assert roc_auc(truth, scores) == pytest.approx(skm.roc_auc_score(truth, scores), abs=1e-12)
    assert average_precision(truth, scores) == pytest.approx(
        skm.average_precision_score(truth, scores), abs=1e-12
    )
    assert math.isnan(roc_auc(np.zeros(5), scores[:5]))
    assert math.isnan(average_precision(np.zeros(5), scores[:5]))


def test_score_equals_compute_metrics_for_every_metric() -> None:
    y, pred, proba = _multiclass(120, seed=3)
    everything = compute_metrics("classification", y, pred, proba, CLASSES)
    for name in CLASSIFICATION_METRICS:
        assert score(name, "classification", y, pred, proba, CLASSES) == everything[name]


def test_regression_matches_sklearn_and_scipy() -> None:
    rng = np.random.default_rng(2)
    y = rng.uniform(1, 10, 100)
    pred = y + rng.normal(0, 1, 100).clip(-0.9, None)
    got = compute_metrics("regression", pd.Series(y), pred)
    assert set(got) == set(REGRESSION_METRICS)
    assert all(type(v) is float for v in got.values())
    span = y.max() - y.min()
    rmsle = skm.root_mean_squared_log_error(y, pred)
    expected = {
        "explained_variance": skm.explained_variance_score(y, pred),
        "mean_absolute_error": skm.mean_absolute_error(y, pred),
        "median_absolute_error": skm.median_absolute_error(y, pred),
        "normalized_mean_absolute_error": skm.mean_absolute_error(y, pred) / span,
        "normalized_median_absolute_error": skm.median_absolute_error(y, pred) / span,
        "normalized_root_mean_squared_error": skm.root_mean_squared_error(y, pred) / span,
        "normalized_root_mean_squared_log_error": rmsle / (np.log1p(y.max()) - np.log1p(y.min())),
        "r2_score": skm.r2_score(y, pred),
        "root_mean_squared_error": skm.root_mean_squared_error(y, pred),
        "root_mean_squared_log_error": rmsle,
        "spearman_correlation": spearmanr(y, pred).statistic,
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-10), name


def test_regression_hand_computed_and_degenerate_cases() -> None:
    got = compute_metrics("regression", [0.0, 2.0, 4.0], [1.0, 2.0, 2.0])
    assert got["mean_absolute_error"] == pytest.approx(1.0)
    assert got["root_mean_squared_error"] == pytest.approx(math.sqrt(5 / 3))
    assert got["normalized_mean_absolute_error"] == pytest.approx(0.25)
    assert got["r2_score"] == pytest.approx(1 - 5 / 8)
    negative = compute_metrics("regression", [-1.0, 2.0, 3.0], [0.0, 2.0, 3.0])
    assert math.isnan(negative["root_mean_squared_log_error"])
    assert math.isnan(negative["normalized_root_mean_squared_log_error"])
    constant = compute_metrics("regression", [5.0, 5.0, 5.0], [4.0, 5.0, 6.0])
    assert math.isnan(constant["normalized_root_mean_squared_error"])
    assert math.isnan(constant["spearman_correlation"])
    assert constant["r2_score"] == 0.0


def test_is_better_respects_direction_and_nan() -> None:
    assert is_better("AUC_weighted", 0.9, 0.8)
    assert not is_better("AUC_weighted", 0.8, 0.9)
    assert is_better("log_loss", 0.2, 0.3)
    assert not is_better("root_mean_squared_error", 2.0, 1.0)
    assert not is_better("accuracy", 0.5, 0.5)
    assert is_better("accuracy", 0.1, float("nan"))
    assert not is_better("accuracy", float("nan"), 0.1)
    with pytest.raises(InvalidInput):
        is_better("speed", 1.0, 2.0)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: score("r2_score", "classification", [0, 1], [0, 1]), "not a classification"),
        (lambda: score("accuracy", "clustering", [0, 1], [0, 1]), "Unknown task"),
        (lambda: score("accuracy", "classification", [0, 1], [0]), "rows"),
        (lambda: score("accuracy", "classification", [0, 1], [0, 3], classes=[0, 1]), "[3]"),
        (lambda: score("AUC_weighted", "classification", [0, 1], [0, 1]), "y_proba"),
        (lambda: score("log_loss", "classification", [0, 1], [0, 1], [[1, 0, 0]] * 2), "columns"),
        (lambda: score("r2_score", "regression", [1.0, np.nan], [1.0, 2.0]), "NaN"),
        (lambda: score("r2_score", "regression", ["a", "b"], [1.0, 2.0]), "numeric"),
    ],
)
def test_bad_input_raises_invalid_input(call: Callable[[], float], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(fragment)):
        call()
