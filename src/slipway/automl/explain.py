"""Global explanations: how much each raw input column matters to a fitted model.

The importance of a column is the drop in the run's primary metric when that
column's values are shuffled (permutation importance), measured on a sample
of rows through the whole pipeline, so it speaks of the columns the user
uploaded rather than of engineered features.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.inspection import permutation_importance

from slipway.automl.metrics import GREATER_IS_BETTER, PROBABILITY_METRICS, metric_names, score
from slipway.core.errors import InvalidInput

_FALLBACK_METRIC = {"classification": "accuracy", "regression": "r2_score"}
_MIN_ROWS_PER_CLASS = 2


def explain_model(
    pipeline: Any,
    X: pd.DataFrame,
    y: npt.ArrayLike,
    *,
    task: str,
    metric: str,
    seed: int = 0,
    max_rows: int = 2000,
    n_repeats: int = 3,
) -> list[dict[str, Any]]:
    """Permutation importance of each column of ``X``, most important first.

    Each entry is ``{"column", "importance", "std"}``: the mean and standard
    deviation over ``n_repeats`` shuffles of the loss in ``metric`` (positive
    means the model relies on the column; for error metrics, the increase in
    error). If ``metric`` is undefined on the sample (e.g. RMSLE with negative
    predictions), accuracy or R^2 is used instead.

    >>> explain_model(model, X_valid, y_valid, task="classification", metric="AUC_weighted")
    [{'column': 'duration', 'importance': 0.21, 'std': 0.004}, ...]
    """
    if metric not in metric_names(task):
        raise InvalidInput(f"{metric!r} is not a {task} metric.")
    if not isinstance(X, pd.DataFrame):
        raise InvalidInput("X must be a pandas DataFrame of the raw input columns.")
    target = np.asarray(y)
    if len(target) != len(X) or len(X) == 0:
        raise InvalidInput(f"X has {len(X)} rows and y has {len(target)}; they must match.")
    if max_rows < 1 or n_repeats < 1:
        raise InvalidInput("max_rows and n_repeats must be positive.")
    rng = np.random.default_rng(seed)
    rows = _sample_rows(target, max_rows, rng, stratify=task == "classification")
    X_sample = X.iloc[rows].reset_index(drop=True)
    y_sample = target[rows]
    scorer = _scorer(task, metric)
    if math.isnan(scorer(pipeline, X_sample, y_sample)):
        scorer = _scorer(task, _FALLBACK_METRIC[task])
    result = permutation_importance(
        pipeline,
        X_sample,
        y_sample,
        scoring=scorer,
        n_repeats=n_repeats,
        random_state=int(rng.integers(2**31 - 1)),
    )
    explanations = [
        {"column": str(column), "importance": _finite(mean), "std": _finite(std)}
        for column, mean, std in zip(X.columns, result.importances_mean, result.importances_std, strict=True)
    ]
    return sorted(explanations, key=lambda e: -e["importance"])


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def _sample_rows(y: np.ndarray, max_rows: int, rng: np.random.Generator, *, stratify: bool) -> np.ndarray:
    """Row positions of a sample; per class in proportion, keeping rare classes."""
    n = len(y)
    if n <= max_rows:
        return np.arange(n)
    if not stratify:
        return np.sort(rng.choice(n, size=max_rows, replace=False))
    codes = pd.factorize(pd.Series(y, dtype=object))[0]
    picked = []
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        quota = max(round(len(members) * max_rows / n), min(len(members), _MIN_ROWS_PER_CLASS))
        picked.append(rng.choice(members, size=quota, replace=False))
    return np.sort(np.concatenate(picked))


def _scorer(task: str, metric: str) -> Callable[[Any, pd.DataFrame, np.ndarray], float]:
    """A scikit-learn scorer (greater is better) computing ``metric`` with our definitions."""
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0

    def scorer(estimator: Any, X: pd.DataFrame, y: np.ndarray) -> float:
        if task == "classification" and metric in PROBABILITY_METRICS:
            if not hasattr(estimator, "predict_proba"):
                raise InvalidInput(f"{metric} needs a model with predict_proba.")
            proba = estimator.predict_proba(X)
            classes = np.asarray(estimator.classes_)
            predicted = classes[np.argmax(proba, axis=1)]
            return sign * score(metric, task, y, predicted, proba, classes)
        return sign * score(metric, task, y, estimator.predict(X))

    return scorer
