"""Evaluation metrics for AutoML, named and defined as the cloud AutoML products do.

``compute_metrics`` returns every metric of a task; ``score`` computes one (the
search calls it once per fold, so it only does the work that metric needs).
All values are plain Python floats.

Conventions, chosen so a cross-validation fold never crashes and never warns:

* Labels may be any hashable values (strings included). ``y_proba`` has one
  column per class, in the order of ``classes`` (an estimator's ``classes_``);
  without ``classes`` the sorted union of ``y_true`` and ``y_pred`` is used.
* Precision, recall and F1 use ``zero_division=0`` over all ``classes``.
* A class with no row in ``y_true`` (a rare class missing from a fold) has no
  ROC or precision-recall curve, so ``AUC_macro`` and
  ``average_precision_score_macro`` are NaN; their ``_weighted`` forms give it
  weight 0 (its support) and stay defined; ``_micro`` forms pool all classes.
* ``balanced_accuracy`` is the mean recall over the classes present in
  ``y_true`` (scikit-learn's definition); ``norm_macro_recall`` is
  ``(recall_score_macro - 1/k) / (1 - 1/k)``.
* Metrics that need ``y_proba`` are left out of ``compute_metrics`` when it is
  not given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import rankdata

from slipway.core.errors import InvalidInput

CLASSIFICATION = "classification"
REGRESSION = "regression"

CLASSIFICATION_METRICS: tuple[str, ...] = (
    "accuracy",
    "AUC_macro",
    "AUC_micro",
    "AUC_weighted",
    "average_precision_score_macro",
    "average_precision_score_micro",
    "average_precision_score_weighted",
    "balanced_accuracy",
    "f1_score_macro",
    "f1_score_micro",
    "f1_score_weighted",
    "log_loss",
    "matthews_correlation",
    "norm_macro_recall",
    "precision_score_macro",
    "precision_score_micro",
    "precision_score_weighted",
    "recall_score_macro",
    "recall_score_micro",
    "recall_score_weighted",
    "weighted_accuracy",
)

REGRESSION_METRICS: tuple[str, ...] = (
    "explained_variance",
    "mean_absolute_error",
    "median_absolute_error",
    "normalized_mean_absolute_error",
    "normalized_median_absolute_error",
    "normalized_root_mean_squared_error",
    "normalized_root_mean_squared_log_error",
    "r2_score",
    "root_mean_squared_error",
    "root_mean_squared_log_error",
    "spearman_correlation",
)

_LOWER_IS_BETTER = frozenset(
    {
        "log_loss",
        "mean_absolute_error",
        "median_absolute_error",
        "normalized_mean_absolute_error",
        "normalized_median_absolute_error",
        "normalized_root_mean_squared_error",
        "normalized_root_mean_squared_log_error",
        "root_mean_squared_error",
        "root_mean_squared_log_error",
    }
)

GREATER_IS_BETTER: dict[str, bool] = {
    name: name not in _LOWER_IS_BETTER for name in CLASSIFICATION_METRICS + REGRESSION_METRICS
}

#: Classification metrics computed from ``y_proba`` rather than ``y_pred``.
PROBABILITY_METRICS: frozenset[str] = frozenset(
    name for name in CLASSIFICATION_METRICS if name.startswith(("AUC_", "average_precision", "log"))
)

_NAN = float("nan")


# --------------------------------------------------------------------------- inputs


def _labels(values: npt.ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise InvalidInput(f"{name} must be one-dimensional, got shape {array.shape}.")
    return array


def _same_length(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise InvalidInput(
            f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}.",
            hint="Pass the predictions for exactly the rows of y_true.",
        )
    if len(y_true) == 0:
        raise InvalidInput("Cannot compute metrics on zero rows.")


def _sorted_union(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    values = pd.unique(pd.Series(np.concatenate([y_true, y_pred]), dtype=object))
    try:
        return np.asarray(sorted(values), dtype=object)
    except TypeError:  # labels of mixed, unorderable types: keep first-seen order
        return np.asarray(values, dtype=object)


def _encode(index: pd.Index, values: np.ndarray, name: str) -> np.ndarray:
    codes = np.asarray(index.get_indexer(pd.Index(values, dtype=object)))
    if (codes < 0).any():
        unknown = pd.unique(pd.Series(values[codes < 0], dtype=object))[:5]
        raise InvalidInput(
            f"{name} contains labels that are not among the classes: {list(unknown)}.",
            hint=f"Known classes: {list(index)[:20]}.",
        )
    return codes


def _probabilities(y_proba: npt.ArrayLike, n: int, k: int) -> np.ndarray:
    proba = np.asarray(y_proba, dtype=float)
    if proba.ndim == 1 and k == 2:  # the positive class's probability only
        proba = np.column_stack([1.0 - proba, proba])
    if proba.shape != (n, k):
        raise InvalidInput(
            f"y_proba has shape {proba.shape}, expected ({n}, {k}): one column per class.",
            hint="Pass classes= in the order of the probability columns (estimator.classes_).",
        )
    if not np.isfinite(proba).all():
        raise InvalidInput("y_proba contains NaN or infinite values.")
    return proba


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio that is 0 where the denominator is 0 (``zero_division=0``)."""
    out = np.zeros(len(numerator), dtype=float)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


# --------------------------------------------------------------------------- ranking curves
# Our own one-vs-rest AUC and average precision: the same values as scikit-learn's
# (ties included) without its per-call validation, which dominated the search's scoring.


def roc_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of binary ``truth`` (0/1) ranked by ``score``; ties count half."""
    positive = truth.astype(bool)
    n_pos = int(positive.sum())
    n_neg = len(truth) - n_pos
    if not n_pos or not n_neg:
        return _NAN
    order = np.argsort(score, kind="stable")
    ordered = score[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(ordered)]
    mean_rank = (starts + ends + 1) / 2.0  # 1-based average rank of each tie group
    ranks = np.repeat(mean_rank, ends - starts)
    return float((ranks[positive[order]].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    """Sum over thresholds of (recall gained) x precision, as scikit-learn defines it."""
    order = np.argsort(-score, kind="stable")
    hits = truth[order].astype(float)
    if not hits.sum():
        return _NAN
    ordered = score[order]
    last = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]  # end of each tie group
    true_pos = np.cumsum(hits)[last]
    precision = true_pos / (last + 1)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# --------------------------------------------------------------------------- classification


class _Classification:
    """Encoded labels plus lazily computed per-class statistics shared by metrics."""

    def __init__(
        self,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        y_proba: npt.ArrayLike | None,
        classes: npt.ArrayLike | None,
    ) -> None:
        true, pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
        _same_length(true, pred)
        if classes is None:
            self.classes = _sorted_union(true, pred)
            shape: tuple[int, ...] = () if y_proba is None else np.shape(y_proba)
            columns = shape[1] if len(shape) == 2 else None
            if columns is not None and columns != len(self.classes):
                raise InvalidInput(
                    f"y_proba has {columns} columns but the labels show {len(self.classes)} classes.",
                    hint="Pass classes= (the estimator's classes_) with y_proba.",
                )
        else:
            self.classes = _labels(classes, "classes")
        index = pd.Index(self.classes)
        if not index.is_unique:
            raise InvalidInput("classes contains duplicate labels.")
        self.n = len(true)
        self.k = len(self.classes)
        self.true = _encode(index, true, "y_true")
        self.pred = _encode(index, pred, "y_pred")
        self.proba = None if y_proba is None else _probabilities(y_proba, self.n, self.k)

    def probabilities(self) -> np.ndarray:
        if self.proba is None:
            raise InvalidInput("This metric needs predicted probabilities (y_proba).")
        return self.proba

    @cached_property
    def confusion(self) -> np.ndarray:
        """Counts, rows = true class, columns = predicted class."""
        cells = np.bincount(self.true * self.k + self.pred, minlength=self.k * self.k)
        return cells.reshape(self.k, self.k)

    @cached_property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1)

    @cached_property
    def true_positives(self) -> np.ndarray:
        return np.diag(self.confusion)

    @cached_property
    def precision(self) -> np.ndarray:
        return _safe_divide(self.true_positives, self.confusion.sum(axis=0))

    @cached_property
    def recall(self) -> np.ndarray:
        return _safe_divide(self.true_positives, self.support)

    @cached_property
    def f1(self) -> np.ndarray:
        tp = self.true_positives
        errors = self.confusion.sum(axis=0) + self.support - 2 * tp  # fp + fn
        return _safe_divide(2 * tp, 2 * tp + errors)

    @cached_property
    def indicator(self) -> np.ndarray:
        return (self.true[:, None] == np.arange(self.k)[None, :]).astype(np.int8)

    def _per_class(self, curve_score: Callable[[np.ndarray, np.ndarray], float]) -> np.ndarray:
        proba = self.probabilities()
        values = np.full(self.k, np.nan)
        for j in range(self.k):
            if 0 < self.support[j] < self.n:  # a curve needs both positives and negatives
                values[j] = curve_score(self.indicator[:, j], proba[:, j])
        return values

    @cached_property
    def auc(self) -> np.ndarray:
        return self._per_class(roc_auc)

    @cached_property
    def average_precision(self) -> np.ndarray:
        return self._per_class(average_precision)

    def micro(self, curve_score: Callable[[np.ndarray, np.ndarray], float]) -> float:
        proba = self.probabilities()
        if self.k < 2:
            return _NAN
        return float(curve_score(self.indicator.ravel(), proba.ravel()))

    def macro(self, values: np.ndarray) -> float:
        return float(values.mean()) if self.k and not np.isnan(values).any() else _NAN

    def weighted(self, values: np.ndarray) -> float:
        defined = ~np.isnan(values) & (self.support > 0)
        weights = self.support[defined]
        if weights.sum() == 0:
            return _NAN
        return float(np.dot(values[defined], weights) / weights.sum())

    def accuracy(self) -> float:
        return float(self.true_positives.sum() / self.n)

    def balanced_accuracy(self) -> float:
        return float(self.recall[self.support > 0].mean())

    def norm_macro_recall(self) -> float:
        if self.k < 2:
            return _NAN
        chance = 1.0 / self.k
        return float((self.recall.mean() - chance) / (1.0 - chance))

    def weighted_accuracy(self) -> float:
        # Each row weighs its class's frequency: sum_c n_c * tp_c / sum_c n_c^2.
        support = self.support.astype(float)
        return float(np.dot(support, self.true_positives) / np.dot(support, support))

    def matthews(self) -> float:
        c = self.confusion.astype(float)
        t_sum, p_sum, n = c.sum(axis=1), c.sum(axis=0), c.sum()
        cov_tp = np.trace(c) * n - np.dot(t_sum, p_sum)
        cov_pp = n * n - np.dot(p_sum, p_sum)
        cov_tt = n * n - np.dot(t_sum, t_sum)
        if cov_pp * cov_tt == 0:  # a constant prediction or a constant truth
            return 0.0
        return float(cov_tp / math.sqrt(cov_tt * cov_pp))

    def log_loss(self) -> float:
        proba = self.probabilities()
        eps = np.finfo(float).eps
        proba = np.clip(proba, eps, None)
        proba = proba / proba.sum(axis=1, keepdims=True)
        picked = np.clip(proba[np.arange(self.n), self.true], eps, 1.0 - eps)
        return float(-np.log(picked).mean())


_CLASSIFICATION: dict[str, Callable[[_Classification], float]] = {
    "accuracy": _Classification.accuracy,
    "AUC_macro": lambda c: c.macro(c.auc),
    "AUC_micro": lambda c: c.micro(roc_auc),
    "AUC_weighted": lambda c: c.weighted(c.auc),
    "average_precision_score_macro": lambda c: c.macro(c.average_precision),
    "average_precision_score_micro": lambda c: c.micro(average_precision),
    "average_precision_score_weighted": lambda c: c.weighted(c.average_precision),
    "balanced_accuracy": _Classification.balanced_accuracy,
    "f1_score_macro": lambda c: float(c.f1.mean()),
    "f1_score_micro": _Classification.accuracy,  # single-label: micro P = R = F1 = accuracy
    "f1_score_weighted": lambda c: c.weighted(c.f1),
    "log_loss": _Classification.log_loss,
    "matthews_correlation": _Classification.matthews,
    "norm_macro_recall": _Classification.norm_macro_recall,
    "precision_score_macro": lambda c: float(c.precision.mean()),
    "precision_score_micro": _Classification.accuracy,
    "precision_score_weighted": lambda c: c.weighted(c.precision),
    "recall_score_macro": lambda c: float(c.recall.mean()),
    "recall_score_micro": _Classification.accuracy,
    "recall_score_weighted": lambda c: c.weighted(c.recall),
    "weighted_accuracy": _Classification.weighted_accuracy,
}


# --------------------------------------------------------------------------- regression


class _Regression:
    def __init__(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> None:
        try:
            true = _labels(y_true, "y_true").astype(float)
            pred = _labels(y_pred, "y_pred").astype(float)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"Regression metrics need numeric values: {exc}") from exc
        _same_length(true, pred)
        if not (np.isfinite(true).all() and np.isfinite(pred).all()):
            raise InvalidInput("y_true or y_pred contains NaN or infinite values.")
        self.true, self.pred = true, pred
        self.errors = np.abs(pred - true)
        self.range = float(true.max() - true.min())

    def normalized(self, value: float) -> float:
        return value / self.range if self.range > 0 else _NAN

    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.errors**2)))

    def rmsle(self) -> float:
        if (self.true < 0).any() or (self.pred < 0).any():
            return _NAN
        return float(np.sqrt(np.mean((np.log1p(self.pred) - np.log1p(self.true)) ** 2)))

    def normalized_rmsle(self) -> float:
        value = self.rmsle()
        if math.isnan(value):
            return _NAN
        log_range = float(np.log1p(self.true.max()) - np.log1p(self.true.min()))
        return value / log_range if log_range > 0 else _NAN

    def _one_minus(self, residual_spread: float, true_spread: float) -> float:
        # scikit-learn's force_finite convention for a constant y_true.
        if len(self.true) < 2:
            return _NAN
        if true_spread == 0:
            return 1.0 if residual_spread == 0 else 0.0
        return float(1.0 - residual_spread / true_spread)

    def r2(self) -> float:
        total = float(np.sum((self.true - self.true.mean()) ** 2))
        return self._one_minus(float(np.sum(self.errors**2)), total)

    def explained_variance(self) -> float:
        return self._one_minus(float(np.var(self.true - self.pred)), float(np.var(self.true)))

    def spearman(self) -> float:
        true_rank, pred_rank = rankdata(self.true), rankdata(self.pred)
        if len(self.true) < 2 or true_rank.std() == 0 or pred_rank.std() == 0:
            return _NAN
        return float(np.corrcoef(true_rank, pred_rank)[0, 1])


def _mae(r: _Regression) -> float:
    return float(np.mean(r.errors))


def _median_ae(r: _Regression) -> float:
    return float(np.median(r.errors))


_REGRESSION: dict[str, Callable[[_Regression], float]] = {
    "explained_variance": _Regression.explained_variance,
    "mean_absolute_error": _mae,
    "median_absolute_error": _median_ae,
    "normalized_mean_absolute_error": lambda r: r.normalized(_mae(r)),
    "normalized_median_absolute_error": lambda r: r.normalized(_median_ae(r)),
    "normalized_root_mean_squared_error": lambda r: r.normalized(r.rmse()),
    "normalized_root_mean_squared_log_error": _Regression.normalized_rmsle,
    "r2_score": _Regression.r2,
    "root_mean_squared_error": _Regression.rmse,
    "root_mean_squared_log_error": _Regression.rmsle,
    "spearman_correlation": _Regression.spearman,
}


# --------------------------------------------------------------------------- public API


def metric_names(task: str) -> tuple[str, ...]:
    """The metrics of a task, ``"classification"`` or ``"regression"``."""
    if task == CLASSIFICATION:
        return CLASSIFICATION_METRICS
    if task == REGRESSION:
        return REGRESSION_METRICS
    raise InvalidInput(f"Unknown task {task!r}.", hint=f"Use {CLASSIFICATION!r} or {REGRESSION!r}.")


def _check_metric(metric: str, task: str) -> None:
    names = metric_names(task)
    if metric not in names:
        raise InvalidInput(f"{metric!r} is not a {task} metric.", hint=f"Choose one of: {', '.join(names)}.")


def compute_metrics(
    task: str,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    y_proba: npt.ArrayLike | None = None,
    classes: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Every metric of ``task`` (probability metrics only when ``y_proba`` is given).

    >>> compute_metrics("classification", ["a", "b", "b"], ["a", "b", "a"])["accuracy"]
    0.6666666666666666
    """
    names = metric_names(task)
    if task == REGRESSION:
        reg = _Regression(y_true, y_pred)
        return {name: float(_REGRESSION[name](reg)) for name in names}
    cls = _Classification(y_true, y_pred, y_proba, classes)
    return {
        name: float(_CLASSIFICATION[name](cls))
        for name in names
        if y_proba is not None or name not in PROBABILITY_METRICS
    }


def score(
    metric: str,
    task: str,
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    y_proba: npt.ArrayLike | None = None,
    classes: npt.ArrayLike | None = None,
) -> float:
    """One metric, computing only what it needs (the search's fast path)."""
    _check_metric(metric, task)
    if task == REGRESSION:
        return float(_REGRESSION[metric](_Regression(y_true, y_pred)))
    if metric in PROBABILITY_METRICS and y_proba is None:
        raise InvalidInput(f"{metric} needs predicted probabilities (y_proba).")
    return float(_CLASSIFICATION[metric](_Classification(y_true, y_pred, y_proba, classes)))


def is_better(metric: str, a: float, b: float) -> bool:
    """Whether score ``a`` is strictly better than ``b`` for ``metric``; NaN is worst."""
    if metric not in GREATER_IS_BETTER:
        raise InvalidInput(
            f"Unknown metric {metric!r}.", hint=f"Choose one of: {', '.join(GREATER_IS_BETTER)}."
        )
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if GREATER_IS_BETTER[metric] else a < b
