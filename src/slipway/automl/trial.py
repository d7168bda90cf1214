"""One trial, as run inside an executor worker: featurize + learner, fold by fold.

Everything here is a plain picklable function of a shared :class:`TrialData`
(sent to each worker once) and a small :class:`TrialSpec`. A trial returns a
:class:`TrialOutcome`; it never raises, so a failure is a result.
"""

from __future__ import annotations

import os
import statistics
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from slipway.automl.estimators import EARLY_STOPPING_FIT, get_learner
from slipway.automl.featurize import FOREST, ColumnPlan, build_featurizer

ES_FRACTION = 0.1  # share of a fold's training rows held out for early stopping
REFIT_TREE_FACTOR = 1.1  # a refit on all rows sees more data than each fold: grow a bit
PRUNE_WARMUP_FOLDS = 2  # one fold says little: never prune before two are scored


class TrialTimeout(Exception):
    """The trial ran past its time limit."""


class TrialStopped(Exception):
    """The run was stopped (canceled by the user or out of time)."""


class TrialPruned(Exception):
    """The trial was worse than the pruning threshold after some folds."""


@dataclass
class TrialData:
    """Everything trials share: sent to every worker once."""

    X: pd.DataFrame
    y: np.ndarray
    task: str
    metric: str
    classes: list[Any] | None
    folds: list[tuple[np.ndarray, np.ndarray]]
    plan: ColumnPlan
    sample_weight: np.ndarray | None
    greater_is_better: bool
    seed: int = 0

    @property
    def eval_index(self) -> np.ndarray:
        """Rows with an out-of-fold prediction, in the order of ``oof`` arrays."""
        return np.sort(np.concatenate([valid for _, valid in self.folds]))


@dataclass
class TrialSpec:
    trial_id: int
    learner: str
    params: dict[str, Any]
    seed: int = 0
    n_jobs: int = 1
    limit_s: float = 3600.0
    stop_path: str | None = None
    prune_thresholds: list[float | None] = field(default_factory=list)


@dataclass
class TrialOutcome:
    trial_id: int
    status: str  # Completed | Failed | Canceled
    score: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)
    oof: np.ndarray | None = None  # proba (n, k) or predictions (n,), rows of eval_index
    n_estimators: int | None = None  # trees for the refit, from early stopping
    duration_s: float = 0.0
    error: str | None = None
    predict_latency_ms: float | None = None
    fold_model: Pipeline | None = None  # the last fold's model: a fallback if a refit is late


@dataclass
class RefitOutcome:
    model: Pipeline | None
    predict_latency_ms: float | None
    duration_s: float
    error: str | None = None


class _Guard:
    """Raises when the trial's time is up or the run was asked to stop."""

    def __init__(self, limit_s: float, stop_path: str | None) -> None:
        self.deadline = time.monotonic() + limit_s
        self.stop_path = stop_path
        self._next_poll = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise TrialTimeout("trial time limit reached")
        if self.stop_path and now >= self._next_poll:
            self._next_poll = now + 0.25
            # The engine touches the file to stop trials, and removes its folder when
            # the run is over: either means this trial's result is no longer wanted.
            if os.path.exists(self.stop_path) or not os.path.isdir(os.path.dirname(self.stop_path)):
                raise TrialStopped("run stopped")


def short_error(exc: BaseException) -> str:
    """A one-line message plus the last traceback line, for a Failed trial."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:500] + where


def run_trial(data_ref: Any, spec: TrialSpec) -> TrialOutcome:
    """Cross-validate one configuration; the entry point executors run."""
    start = time.monotonic()
    guard = _Guard(spec.limit_s, spec.stop_path)
    try:
        data: TrialData = data_ref.get()
        with warnings.catch_warnings(), threadpool_limits(limits=spec.n_jobs):
            warnings.simplefilter("ignore")
            outcome = _cross_validate(data, spec, guard)
    except (TrialTimeout, TrialStopped, TrialPruned) as exc:
        outcome = TrialOutcome(
            spec.trial_id, "Canceled", error=f"{type(exc).__name__}: {exc.args[0] if exc.args else ''}"
        )
        if isinstance(exc, TrialPruned) and len(exc.args) > 1:
            outcome.fold_scores = list(exc.args[1])
    except Exception as exc:
        outcome = TrialOutcome(spec.trial_id, "Failed", error=short_error(exc))
    outcome.duration_s = time.monotonic() - start
    return outcome


def _cross_validate(data: TrialData, spec: TrialSpec, guard: _Guard) -> TrialOutcome:
    from slipway.automl import metrics

    index = data.eval_index
    position = np.empty(len(data.y), dtype=np.int64)
    position[index] = np.arange(len(index))
    n_out = len(data.classes) if data.classes is not None else 0
    oof = np.zeros((len(index), n_out)) if n_out else np.zeros(len(index))
    fold_scores: list[float] = []
    best_iters: list[int] = []
    model: Pipeline | None = None
    for k, (train, valid) in enumerate(data.folds):
        guard()
        model, best = _fit_fold(data, spec, train, guard)
        if best is not None:
            best_iters.append(best)
        pred = _predict(model, data.X.iloc[valid], data.classes)
        oof[position[valid]] = pred
        fold_scores.append(_score(metrics, data, data.y[valid], pred))
        _maybe_prune(spec, data, k, fold_scores)
    y_true = data.y[index]
    y_pred, y_proba = _labels(oof, data.classes)
    result = metrics.compute_metrics(data.task, y_true, y_pred, y_proba=y_proba, classes=data.classes)
    charts = _charts(data, y_true, y_pred, y_proba)
    score = float(
        metrics.score(data.metric, data.task, y_true, y_pred, y_proba=y_proba, classes=data.classes)
    )
    n_trees = None
    if best_iters:
        n_trees = max(10, round(statistics.mean(best_iters) * REFIT_TREE_FACTOR))
    latency = None
    if model is not None:
        _serve_single_threaded(model)
        latency = predict_latency_ms(model, data.X.iloc[:2])
    return TrialOutcome(
        spec.trial_id,
        "Completed",
        score=score,
        fold_scores=fold_scores,
        metrics={k: float(v) for k, v in result.items()},
        charts=charts,
        oof=oof,
        n_estimators=n_trees,
        predict_latency_ms=latency,
        fold_model=model,
    )


def _charts(data: TrialData, y_true: Any, y_pred: Any, y_proba: Any) -> dict[str, Any]:
    try:
        from slipway.automl import charts

        return dict(charts.chart_data(data.task, y_true, y_pred, y_proba=y_proba, classes=data.classes))
    except Exception as exc:  # charts are a nice-to-have; never fail a trial for them
        return {"error": short_error(exc)}


def _fit_fold(
    data: TrialData, spec: TrialSpec, train: np.ndarray, guard: _Guard
) -> tuple[Pipeline, int | None]:
    learner = get_learner(spec.learner)
    featurizer = build_featurizer(data.plan, learner.style, data.task)
    est = learner.make(data.task, spec.params, spec.seed, spec.n_jobs)
    X, y = data.X.iloc[train], data.y[train]
    w = data.sample_weight[train] if data.sample_weight is not None else None
    early_fit = EARLY_STOPPING_FIT.get(spec.learner) if learner.boosted else None
    if learner.style == FOREST:
        Z = featurizer.fit_transform(X, y)
        _fit_forest_in_chunks(est, Z, y, w, guard)
        return Pipeline([("featurize", featurizer), ("learner", est)]), None
    if early_fit is None:
        pipe = Pipeline([("featurize", featurizer), ("learner", est)])
        guard()
        pipe.fit(X, y, **({"learner__sample_weight": w} if w is not None else {}))
        return pipe, None
    fit_rows, stop_rows = _early_stopping_split(y, data.task, spec.seed)
    Z = featurizer.fit_transform(X, y)
    lr = float(est.get_params().get("learning_rate") or 0.1)
    patience = int(min(200, max(20, 2.0 / lr)))
    best = early_fit(
        est,
        _rows(Z, fit_rows),
        y[fit_rows],
        w[fit_rows] if w is not None else None,
        _rows(Z, stop_rows),
        y[stop_rows],
        patience,
        guard,
    )
    return Pipeline([("featurize", featurizer), ("learner", est)]), best


def _fit_forest_in_chunks(
    est: Any, Z: Any, y: np.ndarray, w: np.ndarray | None, guard: _Guard, chunk: int = 25
) -> None:
    """Grow the forest a few trees at a time so a time limit can stop it."""
    total = int(est.get_params()["n_estimators"])
    est.set_params(warm_start=True)
    for n in range(min(chunk, total), total + chunk, chunk):
        est.set_params(n_estimators=min(n, total))
        est.fit(Z, y, sample_weight=w)
        guard()
        if n >= total:
            break
    est.set_params(warm_start=False)


def _rows(Z: Any, rows: np.ndarray) -> Any:
    return Z.iloc[rows] if isinstance(Z, pd.DataFrame) else Z[rows]


def _early_stopping_split(y: np.ndarray, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(y))
    stratify = y if task == "classification" else None
    try:
        fit_rows, stop_rows = train_test_split(
            rows, test_size=ES_FRACTION, random_state=seed, stratify=stratify
        )
    except ValueError:  # a class too rare to stratify
        fit_rows, stop_rows = train_test_split(rows, test_size=ES_FRACTION, random_state=seed)
    return np.sort(fit_rows), np.sort(stop_rows)


def _predict(model: Any, X: pd.DataFrame, classes: list[Any] | None) -> np.ndarray:
    if classes is None:
        return np.asarray(model.predict(X), dtype=float)
    proba = np.asarray(model.predict_proba(X), dtype=float)
    fitted = list(model.classes_)
    if fitted == list(classes):
        return proba
    out = np.zeros((len(X), len(classes)))  # a fold saw only some classes
    for j, c in enumerate(fitted):
        out[:, classes.index(c)] = proba[:, j]
    return out


def _labels(pred: np.ndarray, classes: list[Any] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(hard predictions, probabilities or None) from a raw prediction array."""
    if classes is None:
        return pred, None
    return np.asarray(classes, dtype=object)[pred.argmax(axis=1)], pred


def _score(metrics: Any, data: TrialData, y_true: np.ndarray, pred: np.ndarray) -> float:
    y_pred, y_proba = _labels(pred, data.classes)
    return float(metrics.score(data.metric, data.task, y_true, y_pred, y_proba=y_proba, classes=data.classes))


def _maybe_prune(spec: TrialSpec, data: TrialData, k: int, fold_scores: list[float]) -> None:
    if k + 1 < PRUNE_WARMUP_FOLDS or k >= len(spec.prune_thresholds) or k == len(data.folds) - 1:
        return
    threshold = spec.prune_thresholds[k]
    if threshold is None:
        return
    running = statistics.mean(fold_scores)
    worse = running < threshold if data.greater_is_better else running > threshold
    if worse:
        raise TrialPruned(f"pruned after fold {k + 1}: {running:.5g} vs {threshold:.5g}", fold_scores)


def predict_latency_ms(model: Any, X2: pd.DataFrame, repeats: int = 15, max_s: float = 1.0) -> float:
    """Median in-process latency of ``model.predict`` on a small frame.

    Stops early (after at least 3 calls) once ``max_s`` seconds are spent.
    """
    model.predict(X2)  # warm-up
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats and (len(times) < 3 or spent < max_s):
        t0 = time.perf_counter()
        model.predict(X2)
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    return float(statistics.median(times)) * 1000.0


def refit_model(
    data_ref: Any, learner_name: str, params: dict[str, Any], seed: int, n_jobs: int, n_estimators: int | None
) -> RefitOutcome:
    """Fit featurizer + learner on every training row: the model users get."""
    start = time.monotonic()
    try:
        data: TrialData = data_ref.get()
        with warnings.catch_warnings(), threadpool_limits(limits=n_jobs):
            warnings.simplefilter("ignore")
            model = build_pipeline(data, learner_name, params, seed, n_jobs, n_estimators)
            kw = {"learner__sample_weight": data.sample_weight} if data.sample_weight is not None else {}
            model.fit(data.X, data.y, **kw)
            _serve_single_threaded(model)
            latency = predict_latency_ms(model, data.X.iloc[:2])
        return RefitOutcome(model, latency, time.monotonic() - start)
    except Exception as exc:
        return RefitOutcome(None, None, time.monotonic() - start, error=short_error(exc))


def build_pipeline(
    data: TrialData,
    learner_name: str,
    params: dict[str, Any],
    seed: int,
    n_jobs: int,
    n_estimators: int | None,
) -> Pipeline:
    learner = get_learner(learner_name)
    params = dict(params)
    if n_estimators is not None and learner.boosted:
        params["n_estimators"] = n_estimators
    est = learner.make(data.task, params, seed, n_jobs)
    return Pipeline([("featurize", build_featurizer(data.plan, learner.style, data.task)), ("learner", est)])


def _serve_single_threaded(model: Pipeline) -> None:
    """Scoring a few rows is fastest on one thread; fitting used several."""
    est = model.steps[-1][1]
    if "n_jobs" in est.get_params():
        est.set_params(n_jobs=1)


def explain(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    task: str,
    metric: str,
    seed: int,
    max_rows: int,
    n_repeats: int = 3,
) -> list[dict[str, Any]]:
    """Permutation importance of ``model`` on raw columns (run in a worker)."""
    from slipway.automl.explain import explain_model

    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        return list(
            explain_model(
                model, X, y, task=task, metric=metric, seed=seed, max_rows=max_rows, n_repeats=n_repeats
            )
        )


# --- what the engine hands back ---------------------------------------------------------


@dataclass
class TrialResult:
    """One row of the leaderboard: a search trial or an ensemble.

    ``model`` is the fitted Pipeline refit on all training rows; it is set for
    the best trial, the ensembles and their members, and ``None`` otherwise.
    """

    trial_id: int
    algorithm: str
    learner: str
    params: dict[str, Any]
    status: str  # Completed | Failed | Canceled
    metrics: dict[str, float] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    duration_s: float = 0.0
    error: str | None = None
    predict_latency_ms: float | None = None
    source: str = "portfolio"  # portfolio | tpe | ensemble
    n_estimators: int | None = None
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        from slipway.core.model_dir import json_safe

        return {
            "trial_id": self.trial_id,
            "algorithm": self.algorithm,
            "learner": self.learner,
            "params": self.params,
            "status": self.status,
            "metrics": {k: json_safe(v) for k, v in self.metrics.items()},
            "charts": self.charts,
            "score": json_safe(self.score),
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "predict_latency_ms": json_safe(self.predict_latency_ms),
            "source": self.source,
        }

    def leaderboard_row(self) -> dict[str, Any]:
        from slipway.core.model_dir import json_safe

        return {
            "trial_id": self.trial_id,
            "algorithm": self.algorithm,
            "score": json_safe(self.score),
            "duration_s": round(self.duration_s, 3),
            "status": self.status,
            "predict_latency_ms": json_safe(self.predict_latency_ms),
        }


@dataclass
class AutoMLResult:
    """Everything a run produced; ``best_model`` goes from raw columns to predictions."""

    primary_metric: str
    guardrails: dict[str, Any]
    trials: list[TrialResult]
    leaderboard: list[dict[str, Any]]
    best_trial_id: int | None
    best_model: Any
    signature: Any  # slipway.core.model_dir.Signature
    explanation: list[dict[str, Any]]
    featurization: dict[str, Any]
    duration_s: float = 0.0
    stopped: str | None = None  # why the search stopped: iterations | timeout | canceled
    notes: list[str] = field(default_factory=list)

    @property
    def best_trial(self) -> TrialResult | None:
        return next((t for t in self.trials if t.trial_id == self.best_trial_id), None)

    def save_best(self, path: Any) -> Any:
        """Write the best model as a Slipway model directory; returns its path."""
        from slipway.core.errors import RunFailed
        from slipway.core.model_dir import save_model_dir

        best = self.best_trial
        if self.best_model is None or best is None:
            raise RunFailed("the run produced no model", hint="see the failed trials' errors")
        return save_model_dir(path, self.best_model, self.signature, metrics=best.metrics)

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary_metric": self.primary_metric,
            "guardrails": self.guardrails,
            "trials": [t.to_dict() for t in self.trials],
            "leaderboard": self.leaderboard,
            "best_trial_id": self.best_trial_id,
            "signature": self.signature.to_dict() if self.signature is not None else None,
            "explanation": self.explanation,
            "featurization": self.featurization,
            "duration_s": round(self.duration_s, 3),
            "stopped": self.stopped,
            "notes": self.notes,
        }
