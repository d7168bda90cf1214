"""AutoML settings: every knob of a run, validated once when it is built."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils.class_weight import compute_sample_weight

from slipway.core.errors import InvalidInput

TASKS = ("classification", "regression")
CLASS_WEIGHTS = ("auto", "balanced", "none")
FEATURIZATION = ("auto", "off")
COLUMN_TYPES = ("numeric", "categorical", "boolean", "datetime", "text")
DEFAULT_METRIC = {"classification": "AUC_weighted", "regression": "r2_score"}
HOLDOUT_ROWS = 50_000  # from this many rows, a 10% holdout replaces cross-validation
SMALL_ROWS = 10_000  # from this many rows, short budgets use 3 folds instead of 5
SHORT_BUDGET_S = 120.0
_THRESHOLD_METRICS = ("accuracy", "f1", "precision", "recall", "matthews")


@dataclass
class AutoMLSettings:
    """What to train and how long to search.

    >>> AutoMLSettings(task="classification", target="y", timeout_s=60, concurrency=2)

    ``iterations`` caps the number of search trials (ensembles excluded);
    ``timeout_s`` bounds the whole run, ensembles and final refit included.
    ``cv_folds`` and ``validation_size`` are exclusive; leave both unset to let
    the engine pick by data size. ``primary_metric=None`` picks the task's
    default (AUC_weighted, r2_score).
    """

    task: str = "classification"
    target: str = "y"
    primary_metric: str | None = None
    timeout_s: float = 300.0
    iterations: int | None = None
    concurrency: int = 2
    cv_folds: int | None = None
    validation_size: float | None = None
    allowed_learners: list[str] | tuple[str, ...] | None = None
    blocked_learners: list[str] | tuple[str, ...] | None = None
    exclude_columns: list[str] | tuple[str, ...] = ()
    ensembles: bool = True
    class_weight: str = "auto"
    seed: int = 0
    featurization: str = "auto"
    column_types: dict[str, str] | None = None
    learner_params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_choice("task", self.task, TASKS)
        if not isinstance(self.target, str) or not self.target:
            raise InvalidInput("target must be a non-empty column name")
        if self.primary_metric is None:
            self.primary_metric = DEFAULT_METRIC[self.task]
        _check_metric(self.task, self.primary_metric)
        if not _is_number(self.timeout_s) or not self.timeout_s > 0:
            raise InvalidInput(f"timeout_s must be a positive number of seconds, got {self.timeout_s!r}")
        self.timeout_s = float(self.timeout_s)
        if self.iterations is not None and (not _is_int(self.iterations) or self.iterations < 1):
            raise InvalidInput(f"iterations must be a positive integer or None, got {self.iterations!r}")
        if not _is_int(self.concurrency) or not 1 <= self.concurrency <= 256:
            raise InvalidInput(f"concurrency must be an integer in 1..256, got {self.concurrency!r}")
        if self.cv_folds is not None and (not _is_int(self.cv_folds) or not 2 <= self.cv_folds <= 20):
            raise InvalidInput(f"cv_folds must be an integer in 2..20, got {self.cv_folds!r}")
        if self.validation_size is not None and (
            not _is_number(self.validation_size) or not 0 < self.validation_size < 1
        ):
            raise InvalidInput(f"validation_size must be a fraction in (0, 1), got {self.validation_size!r}")
        if self.cv_folds is not None and self.validation_size is not None:
            raise InvalidInput("set cv_folds or validation_size, not both")
        _check_choice("class_weight", self.class_weight, CLASS_WEIGHTS)
        _check_choice("featurization", self.featurization, FEATURIZATION)
        if not _is_int(self.seed):
            raise InvalidInput(f"seed must be an integer, got {self.seed!r}")
        self._check_columns()
        self._check_learners()

    def _check_columns(self) -> None:
        if isinstance(self.exclude_columns, str):
            raise InvalidInput("exclude_columns must be a list of column names, not a string")
        self.exclude_columns = tuple(self.exclude_columns)
        if self.target in self.exclude_columns:
            raise InvalidInput(f"the target {self.target!r} cannot be excluded")
        for name, kind in (self.column_types or {}).items():
            _check_choice(f"column_types[{name!r}]", kind, COLUMN_TYPES)

    def _check_learners(self) -> None:
        from slipway.automl.estimators import learner_names

        known = learner_names(self.task)
        for label, names in (
            ("allowed_learners", self.allowed_learners),
            ("blocked_learners", self.blocked_learners),
        ):
            if names is None:
                continue
            if isinstance(names, str):
                raise InvalidInput(f"{label} must be a list of learner names, not a string")
            unknown = [n for n in names if n not in known]
            if unknown:
                raise InvalidInput(
                    f"unknown learner(s) in {label}: {', '.join(map(str, unknown))}",
                    hint=f"choose from {', '.join(known)}",
                )
        for name in self.learner_params:
            if name not in known:
                raise InvalidInput(
                    f"unknown learner in learner_params: {name}", hint=f"choose from {', '.join(known)}"
                )
        if not self.learners():
            raise InvalidInput(
                "no learner left after allowed_learners/blocked_learners",
                hint=f"choose from {', '.join(known)}",
            )

    def learners(self) -> list[str]:
        """The learners this run may use, in the engine's preference order."""
        from slipway.automl.estimators import learner_names

        allowed = set(self.allowed_learners) if self.allowed_learners is not None else None
        blocked = set(self.blocked_learners or ())
        return [n for n in learner_names(self.task) if (allowed is None or n in allowed) and n not in blocked]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["exclude_columns"] = list(self.exclude_columns)
        return out


# --- defaults that depend on the data -------------------------------------------------


def make_folds(y: np.ndarray, settings: AutoMLSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds (stratified for classification) or one holdout split."""
    rows = np.arange(len(y))
    classification = settings.task == "classification"
    n_folds = settings.cv_folds
    if n_folds is None and settings.validation_size is None:
        # 5 folds unless the data is mid-sized and the budget short: then 3 folds
        # leave time for more trials.
        short = settings.timeout_s < SHORT_BUDGET_S and len(y) >= SMALL_ROWS
        n_folds = (3 if short else 5) if len(y) < HOLDOUT_ROWS else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class" warnings on tiny data
        if n_folds is not None:
            if n_folds > len(y):
                raise InvalidInput(f"cv_folds={n_folds} is more than the {len(y)} rows")
            splitter: Any = (StratifiedKFold if classification else KFold)(
                n_splits=n_folds, shuffle=True, random_state=settings.seed
            )
            try:
                return [(tr, va) for tr, va in splitter.split(rows, y)]
            except ValueError:  # too few rows of some class to stratify
                plain = KFold(n_splits=n_folds, shuffle=True, random_state=settings.seed)
                return [(tr, va) for tr, va in plain.split(rows)]
        size = settings.validation_size or 0.1
        try:
            train, valid = train_test_split(
                rows, test_size=size, random_state=settings.seed, stratify=y if classification else None
            )
        except ValueError:
            train, valid = train_test_split(rows, test_size=size, random_state=settings.seed)
        return [(np.sort(train), np.sort(valid))]


def sample_weight(y: np.ndarray, settings: AutoMLSettings) -> np.ndarray | None:
    if settings.task != "classification" or settings.class_weight == "none":
        return None
    if settings.class_weight == "auto":
        # Ranking metrics (AUC, log loss, average precision) do not gain from
        # reweighting; threshold metrics on imbalanced data do.
        metric = (settings.primary_metric or "").lower()
        counts = pd.Series(y).value_counts()
        imbalanced = counts.min() / counts.max() < 0.2
        if not (imbalanced and any(t in metric for t in _THRESHOLD_METRICS)):
            return None
    return np.asarray(compute_sample_weight("balanced", y), dtype=float)


def _check_choice(label: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInput(f"{label} must be one of {', '.join(choices)}; got {value!r}")


def _check_metric(task: str, metric: str) -> None:
    from slipway.automl import metrics

    names = metrics.metric_names(task)
    if metric not in names:
        raise InvalidInput(
            f"primary_metric {metric!r} is not a {task} metric", hint=f"choose from {', '.join(names)}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
