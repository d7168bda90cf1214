"""Chart data for a model's validation predictions, ready to store as JSON.

``chart_data`` returns plain dicts and lists (no NaN, no numpy types), each
curve downsampled to at most ``MAX_POINTS`` points, so the studio can draw
them without further work.

Classification: ``confusion_matrix`` always; with ``y_proba`` also ``roc``,
``precision_recall``, ``calibration``, ``lift`` and ``cumulative_gains``, each
with a ``per_class`` list (one-vs-rest; a class with no row in ``y_true`` has
no curve and is left out) and, for ROC and precision-recall, a ``micro``
average. Regression: ``predicted_vs_true`` and ``residuals``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

from slipway.automl.metrics import _Classification, _Regression, metric_names

MAX_POINTS = 101
CALIBRATION_BINS = 10
REGRESSION_BINS = 20
RESIDUAL_BINS = 30
_DIGITS = 6


def chart_data(
    task: str,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    y_proba: npt.ArrayLike | None = None,
    classes: npt.ArrayLike | None = None,
) -> dict[str, Any]:
    """Charts of validation predictions for ``task`` (see the module docstring).

    >>> charts = chart_data("classification", y, model.predict(X),
    ...                     model.predict_proba(X), model.classes_)
    >>> charts["roc"]["micro"]["auc"]
    """
    metric_names(task)  # validates the task
    if task == "regression":
        return {"task": task, **_regression(_Regression(y_true, y_pred))}
    data = _Classification(y_true, y_pred, y_proba, classes)
    charts: dict[str, Any] = {"task": task, "confusion_matrix": _confusion(data)}
    if data.proba is not None:
        charts.update(_probability_charts(data, data.proba))
    return charts


# --------------------------------------------------------------------------- helpers


def _floats(values: npt.ArrayLike) -> list[float | None]:
    """Rounded plain floats; a non-finite value becomes None (JSON null)."""
    return [round(float(v), _DIGITS) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def _number(value: float) -> float | None:
    return round(float(value), _DIGITS) if math.isfinite(value) else None


def _label(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str | int | float | bool) else str(value)


def _downsample(*arrays: np.ndarray) -> list[np.ndarray]:
    """At most MAX_POINTS evenly spaced points of each curve, ends included."""
    n = len(arrays[0])
    if n <= MAX_POINTS:
        return list(arrays)
    keep = np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(int))
    return [a[keep] for a in arrays]


# --------------------------------------------------------------------------- classification


def _confusion(data: _Classification) -> dict[str, Any]:
    return {
        "labels": [_label(c) for c in data.classes],
        "matrix": data.confusion.astype(int).tolist(),  # rows: true class, columns: predicted
    }


def _roc(truth: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    fpr, tpr, _ = roc_curve(truth, score)
    area = auc(fpr, tpr)
    fpr, tpr = _downsample(fpr, tpr)
    return {"fpr": _floats(fpr), "tpr": _floats(tpr), "auc": _number(area)}


def _precision_recall(truth: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    precision, recall, _ = precision_recall_curve(truth, score)
    area = average_precision_score(truth, score)
    precision, recall = _downsample(precision, recall)
    return {
        "precision": _floats(precision),
        "recall": _floats(recall),
        "average_precision": _number(area),
    }


def _calibration(truth: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    bins = np.minimum((score * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    counts = np.bincount(bins, minlength=CALIBRATION_BINS)
    predicted = np.bincount(bins, weights=score, minlength=CALIBRATION_BINS)
    positives = np.bincount(bins, weights=truth, minlength=CALIBRATION_BINS)
    filled = counts > 0
    return {
        "mean_predicted": _floats(predicted[filled] / counts[filled]),
        "fraction_positive": _floats(positives[filled] / counts[filled]),
        "count": counts[filled].astype(int).tolist(),
    }


def _gains(truth: np.ndarray, score: np.ndarray) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Share of all positives found in the top p% of rows by score, p = 1..100."""
    n = len(truth)
    found = np.cumsum(truth[np.argsort(-score, kind="stable")])
    percentiles = np.arange(1, 101)
    top = np.maximum(np.ceil(percentiles / 100 * n).astype(int), 1)
    gains = found[top - 1] / found[-1]
    lift = gains / (top / n)
    return percentiles.tolist(), gains, lift


def _probability_charts(data: _Classification, proba: np.ndarray) -> dict[str, Any]:
    charts: dict[str, Any] = {
        name: {"per_class": []}
        for name in ("roc", "precision_recall", "calibration", "lift", "cumulative_gains")
    }
    for j, label in enumerate(data.classes):
        if not 0 < data.support[j] < data.n:  # no positives or no negatives: no curve
            continue
        truth, score = data.indicator[:, j], proba[:, j]
        tag = {"class": _label(label)}
        charts["roc"]["per_class"].append({**tag, **_roc(truth, score)})
        charts["precision_recall"]["per_class"].append({**tag, **_precision_recall(truth, score)})
        charts["calibration"]["per_class"].append({**tag, **_calibration(truth, score)})
        percentiles, gains, lift = _gains(truth, score)
        charts["cumulative_gains"]["per_class"].append(
            {**tag, "percentile": percentiles, "gains": _floats(gains)}
        )
        charts["lift"]["per_class"].append({**tag, "percentile": percentiles, "lift": _floats(lift)})
    if data.k >= 2:
        flat_truth, flat_score = data.indicator.ravel(), proba.ravel()
        charts["roc"]["micro"] = _roc(flat_truth, flat_score)
        charts["precision_recall"]["micro"] = _precision_recall(flat_truth, flat_score)
    return charts


# --------------------------------------------------------------------------- regression


def _regression(data: _Regression) -> dict[str, Any]:
    true, pred = data.true, data.pred
    low, high = float(true.min()), float(true.max())
    edges = np.linspace(low, high, REGRESSION_BINS + 1) if high > low else np.array([low, low])
    bins = np.clip(np.searchsorted(edges, true, side="right") - 1, 0, len(edges) - 2)
    m = len(edges) - 1
    counts = np.bincount(bins, minlength=m)
    sums = np.bincount(bins, weights=pred, minlength=m)
    squares = np.bincount(bins, weights=pred**2, minlength=m)
    filled = counts > 0
    mean = sums[filled] / counts[filled]
    std = np.sqrt(np.maximum(squares[filled] / counts[filled] - mean**2, 0.0))
    centers = (edges[:-1] + edges[1:]) / 2
    residuals = true - pred
    hist, hist_edges = np.histogram(residuals, bins=RESIDUAL_BINS)
    return {
        "predicted_vs_true": {
            "bin_centers": _floats(centers[filled]),
            "mean_predicted": _floats(mean),
            "std_predicted": _floats(std),
            "count": counts[filled].astype(int).tolist(),
            "ideal": _floats([low, high]),  # the y = x line
        },
        "residuals": {  # true minus predicted
            "bin_edges": _floats(hist_edges),
            "counts": hist.astype(int).tolist(),
            "mean": _number(float(residuals.mean())),
            "std": _number(float(residuals.std())),
        },
    }
