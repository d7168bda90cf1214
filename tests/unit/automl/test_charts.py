import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from slipway.automl.charts import MAX_POINTS, chart_data
from slipway.automl.metrics import compute_metrics

CLASSES = ["ant", "bee", "cow"]


def _multiclass(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, n)
    proba = rng.dirichlet([1, 1, 1], n)
    proba[np.arange(n), codes] += 0.6
    proba /= proba.sum(axis=1, keepdims=True)
    labels = np.array(CLASSES, dtype=object)
    return labels[codes], labels[proba.argmax(axis=1)], proba


def _strict_json(charts: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON refusing NaN and numpy types."""
    loaded: dict[str, Any] = json.loads(json.dumps(charts, allow_nan=False))
    return loaded


def test_classification_charts_match_sklearn_and_are_downsampled() -> None:
    y, pred, proba = _multiclass()
    charts = _strict_json(chart_data("classification", y, pred, proba, CLASSES))
    assert charts["confusion_matrix"] == {
        "labels": CLASSES,
        "matrix": skm.confusion_matrix(y, pred, labels=CLASSES).tolist(),
    }
    metrics = compute_metrics("classification", y, pred, proba, CLASSES)
    assert charts["roc"]["micro"]["auc"] == pytest.approx(metrics["AUC_micro"], abs=1e-6)
    for j, (roc, pr) in enumerate(
        zip(charts["roc"]["per_class"], charts["precision_recall"]["per_class"], strict=True)
    ):
        truth = y == CLASSES[j]
        assert roc["class"] == pr["class"] == CLASSES[j]
        assert roc["auc"] == pytest.approx(skm.roc_auc_score(truth, proba[:, j]), abs=1e-6)
        assert pr["average_precision"] == pytest.approx(
            skm.average_precision_score(truth, proba[:, j]), abs=1e-6
        )
        assert 10 < len(roc["fpr"]) == len(roc["tpr"]) <= MAX_POINTS
        assert len(pr["precision"]) == len(pr["recall"]) <= MAX_POINTS
        assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
        assert np.all(np.diff(roc["fpr"]) >= 0)
    for name in ("calibration", "lift", "cumulative_gains"):
        assert [c["class"] for c in charts[name]["per_class"]] == CLASSES


def test_calibration_bins_by_hand() -> None:
    y = ["p", "n", "p", "p", "n"]
    p_pos = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    proba = np.column_stack([1 - p_pos, p_pos])
    charts = chart_data("classification", y, y, proba, classes=["n", "p"])
    positive = charts["calibration"]["per_class"][1]
    assert positive["class"] == "p"
    assert positive["mean_predicted"] == pytest.approx([0.05, 0.135, 0.975])
    assert positive["fraction_positive"] == pytest.approx([1.0, 0.5, 0.5])
    assert positive["count"] == [1, 2, 2]


def test_gains_and_lift_by_hand() -> None:
    n = 200
    score = np.linspace(1, 0, n)  # rows already sorted by score, descending
    y = np.where(np.arange(n) < 20, "yes", "no")  # the top 10% are the positives
    proba = np.column_stack([1 - score, score])
    charts = chart_data("classification", y, y, proba, classes=["no", "yes"])
    gains = charts["cumulative_gains"]["per_class"][1]
    lift = charts["lift"]["per_class"][1]
    assert gains["percentile"] == list(range(1, 101)) == lift["percentile"]
    assert gains["gains"][4] == pytest.approx(0.5)  # top 5%: 10 of 20 positives
    assert gains["gains"][9] == gains["gains"][-1] == 1.0
    assert lift["lift"][9] == pytest.approx(10.0)
    assert lift["lift"][-1] == pytest.approx(1.0)


def test_class_absent_from_y_true_has_no_curve_and_no_warning() -> None:
    y = np.array([0, 1, 0, 1, 1, 0])
    proba = np.array(
        [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.2, 0.2], [0.3, 0.6, 0.1], [0.1, 0.5, 0.4], [0.5, 0.3, 0.2]]
    )
    charts = _strict_json(chart_data("classification", y, proba.argmax(axis=1), proba, [0, 1, 2]))
    assert [c["class"] for c in charts["roc"]["per_class"]] == [0, 1]
    assert charts["confusion_matrix"]["labels"] == [0, 1, 2]
    assert charts["confusion_matrix"]["matrix"][2] == [0, 0, 0]


def test_without_probabilities_only_the_confusion_matrix() -> None:
    charts = chart_data("classification", pd.Series(["a", "b", "a"]), ["a", "a", "a"])
    assert set(charts) == {"task", "confusion_matrix"}
    assert charts["confusion_matrix"]["matrix"] == [[2, 0], [1, 0]]


def test_regression_bins_and_residuals_by_hand() -> None:
    charts = _strict_json(chart_data("regression", [0.0, 0.0, 10.0, 10.0], [1.0, 3.0, 9.0, 9.0]))
    binned = charts["predicted_vs_true"]
    assert binned["bin_centers"] == pytest.approx([0.25, 9.75])
    assert binned["mean_predicted"] == pytest.approx([2.0, 9.0])
    assert binned["std_predicted"] == pytest.approx([1.0, 0.0])
    assert binned["count"] == [2, 2]
    residuals = charts["residuals"]
    assert sum(residuals["counts"]) == 4
    assert len(residuals["bin_edges"]) == len(residuals["counts"]) + 1
    assert residuals["bin_edges"][0] == pytest.approx(-3.0)
    assert residuals["bin_edges"][-1] == pytest.approx(1.0)
    assert residuals["mean"] == pytest.approx(-0.5)  # (-1 - 3 + 1 + 1) / 4


def test_regression_large_input_stays_small_and_constant_target_works() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=20_000)
    charts = _strict_json(chart_data("regression", y, y + rng.normal(size=20_000)))
    assert len(charts["predicted_vs_true"]["bin_centers"]) <= MAX_POINTS
    constant = _strict_json(chart_data("regression", [2.0, 2.0], [1.0, 3.0]))
    assert constant["predicted_vs_true"]["mean_predicted"] == [2.0]
