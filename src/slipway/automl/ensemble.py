"""Ensembles of fitted trials: greedy weighted voting (Caruana) and stacking.

Both estimators take raw columns (their members are whole Pipelines) and
follow the scikit-learn contract; the engine builds them from members already
refit on all rows with :meth:`from_fitted`, so nothing is trained twice.
Weights and meta-learners are chosen on out-of-fold predictions; the scores
reported for an ensemble are themselves out-of-fold (nested).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from slipway.automl.trial import (
    TrialData,
    TrialResult,
    _charts,
    _labels,
    predict_latency_ms,
    short_error,
)

ENSEMBLE_CANDIDATES = 8  # best trials the voting ensemble may pick from
STACK_MEMBERS = 4
MAX_VOTING_MEMBERS = 4  # small ensembles: each member adds its predict latency

Scorer = Callable[[np.ndarray, np.ndarray], float]  # (rows, blended prediction) -> score


def _member_outputs(
    members: Sequence[Any], X: Any, classification: bool, classes: np.ndarray
) -> list[np.ndarray]:
    """Each member's output; members sharing one fitted featurizer object run it once."""
    cache: dict[int, Any] = {}
    outs = []
    for est in members:
        steps = getattr(est, "steps", None)
        if steps and len(steps) == 2:
            featurizer, learner = steps[0][1], steps[1][1]
            key = id(featurizer)
            if key not in cache:
                cache[key] = featurizer.transform(X)
            outs.append(_member_output(learner, cache[key], classification, classes))
        else:
            outs.append(_member_output(est, X, classification, classes))
    return outs


def share_featurizers(members: Sequence[Any]) -> None:
    """Point members whose featurizers are interchangeable at one object.

    Members refit on the same rows with the same featurizer recipe have
    identical fitted featurizers; sharing one lets the ensemble run it once.
    """
    seen: dict[str, Any] = {}
    for est in members:
        steps = getattr(est, "steps", None)
        if not steps or len(steps) != 2:
            continue
        recipe = repr(steps[0][1])
        if recipe in seen:
            steps[0] = (steps[0][0], seen[recipe])
        else:
            seen[recipe] = steps[0][1]


def _member_output(est: Any, X: Any, classification: bool, classes: np.ndarray) -> np.ndarray:
    if not classification:
        return np.asarray(est.predict(X), dtype=float)
    proba = np.asarray(est.predict_proba(X), dtype=float)
    fitted = list(est.classes_)
    if fitted == list(classes):
        return proba
    out = np.zeros((proba.shape[0], len(classes)))
    for j, c in enumerate(fitted):
        out[:, list(classes).index(c)] = proba[:, j]
    return out


class VotingEnsemble(BaseEstimator):
    """Weighted average of member predictions (probabilities for classification).

    Parameters: ``estimators`` (list of (name, estimator)), ``weights`` (one
    per member), ``task`` (classification | regression).

    Fitted attributes: ``estimators_`` (fitted members), ``classes_``
    (classification), ``weights_`` (normalized to sum 1).
    """

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]] = (),
        weights: Sequence[float] = (),
        task: str = "classification",
    ) -> None:
        self.estimators = estimators
        self.weights = weights
        self.task = task

    def fit(self, X: Any, y: Any, **fit_params: Any) -> VotingEnsemble:
        members = [clone(est).fit(X, y, **fit_params) for _, est in self.estimators]
        return self._set_fitted(members, np.unique(np.asarray(y)))

    @classmethod
    def from_fitted(
        cls,
        estimators: Sequence[tuple[str, Any]],
        weights: Sequence[float],
        task: str,
        classes: Sequence[Any] | None,
    ) -> VotingEnsemble:
        ens = cls(estimators=list(estimators), weights=list(weights), task=task)
        classes_arr = np.asarray(classes, dtype=object) if classes is not None else np.array([])
        return ens._set_fitted([est for _, est in estimators], classes_arr)

    def _set_fitted(self, members: list[Any], classes: np.ndarray) -> VotingEnsemble:
        weights = np.asarray(self.weights if len(self.weights) else [1.0] * len(members), float)
        if len(weights) != len(members) or weights.sum() <= 0:
            raise ValueError("weights must be one positive number per estimator")
        self.estimators_ = members
        self.weights_ = weights / weights.sum()
        if self.task == "classification":
            self.classes_ = classes
        return self

    def _blend(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        classification = self.task == "classification"
        classes = getattr(self, "classes_", np.array([]))
        outs = _member_outputs(self.estimators_, X, classification, classes)
        return np.asarray(sum(w * out for w, out in zip(self.weights_, outs, strict=True)))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task != "classification":
            raise AttributeError("predict_proba is only available for classification")
        return self._blend(X)

    def predict(self, X: Any) -> np.ndarray:
        out = self._blend(X)
        if self.task == "classification":
            return np.asarray(self.classes_[out.argmax(axis=1)])
        return out


class StackEnsemble(BaseEstimator):
    """A meta-learner over member predictions.

    Parameters: ``estimators`` (list of (name, estimator)), ``final_estimator``
    (default LogisticRegression / Ridge), ``task``, ``cv`` (folds used by
    :meth:`fit` to build out-of-fold meta-features).

    Fitted attributes: ``estimators_``, ``final_estimator_``, ``classes_``
    (classification).
    """

    def __init__(
        self,
        estimators: Sequence[tuple[str, Any]] = (),
        final_estimator: Any = None,
        task: str = "classification",
        cv: int = 5,
    ) -> None:
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.task = task
        self.cv = cv

    def fit(self, X: Any, y: Any) -> StackEnsemble:
        y = np.asarray(y)
        classification = self.task == "classification"
        classes = np.unique(y) if classification else np.array([])
        rows = np.arange(len(y))
        meta = None
        for train, valid in _splitter(classification, self.cv, 0).split(rows, y):
            outs = [
                _member_output(
                    clone(est).fit(X.iloc[train], y[train]), X.iloc[valid], classification, classes
                )
                for _, est in self.estimators
            ]
            block = meta_features(outs, classification)
            meta = np.zeros((len(y), block.shape[1])) if meta is None else meta
            meta[valid] = block
        members = [clone(est).fit(X, y) for _, est in self.estimators]
        final = clone(self.final_estimator or default_meta_learner(self.task)).fit(meta, y)
        return self._set_fitted(members, final, classes)

    @classmethod
    def from_fitted(
        cls,
        estimators: Sequence[tuple[str, Any]],
        final_estimator: Any,
        task: str,
        classes: Sequence[Any] | None,
    ) -> StackEnsemble:
        ens = cls(estimators=list(estimators), final_estimator=clone(final_estimator), task=task)
        classes_arr = np.asarray(classes, dtype=object) if classes is not None else np.array([])
        return ens._set_fitted([est for _, est in estimators], final_estimator, classes_arr)

    def _set_fitted(self, members: list[Any], final: Any, classes: np.ndarray) -> StackEnsemble:
        self.estimators_ = members
        self.final_estimator_ = final
        if self.task == "classification":
            self.classes_ = classes
        return self

    def _meta(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "final_estimator_")
        classification = self.task == "classification"
        classes = getattr(self, "classes_", np.array([]))
        return meta_features(_member_outputs(self.estimators_, X, classification, classes), classification)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task != "classification":
            raise AttributeError("predict_proba is only available for classification")
        return _member_output(self.final_estimator_, self._meta(X), True, self.classes_)

    def predict(self, X: Any) -> np.ndarray:
        if self.task == "classification":
            return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
        return np.asarray(self.final_estimator_.predict(self._meta(X)), dtype=float)


def meta_features(outputs: Sequence[np.ndarray], classification: bool) -> np.ndarray:
    """Member outputs side by side; for binary tasks only P(positive class)."""
    cols = []
    for out in outputs:
        if not classification:
            cols.append(out.reshape(-1, 1))
        elif out.shape[1] == 2:
            cols.append(out[:, 1:])
        else:
            cols.append(out)
    return np.hstack(cols)


def default_meta_learner(task: str) -> Any:
    if task == "classification":
        return LogisticRegression(C=1.0, max_iter=1000)
    return Ridge(alpha=1.0)


def _splitter(classification: bool, n_splits: int, seed: int) -> Any:
    if classification:
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return KFold(n_splits=n_splits, shuffle=True, random_state=seed)


def nest_folds(
    y: np.ndarray, classification: bool, seed: int, n_splits: int = 5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over the out-of-fold rows, to score ensemble choices out of sample."""
    rows = np.arange(len(y))
    try:
        return list(_splitter(classification, n_splits, seed).split(rows, y))
    except ValueError:  # a class too rare to stratify
        return list(_splitter(False, n_splits, seed).split(rows, y))


def caruana_weights(
    preds: Sequence[np.ndarray],
    scorer: Scorer,
    rows: np.ndarray,
    *,
    greater_is_better: bool,
    rounds: int = 25,
    max_members: int = 5,
) -> np.ndarray:
    """Greedy ensemble selection with replacement (Caruana et al., 2004).

    ``preds[i]`` is candidate ``i``'s out-of-fold prediction; only ``rows`` are
    used to choose. Returns selection counts (weights before normalizing).
    """
    sign = 1.0 if greater_is_better else -1.0
    counts = np.zeros(len(preds))
    blend_sum: np.ndarray | None = None
    best_counts, best_score = counts.copy(), -np.inf
    for _ in range(rounds):
        chosen = np.flatnonzero(counts)
        allowed = chosen if len(chosen) >= max_members else np.arange(len(preds))
        n = counts.sum() + 1
        base = blend_sum if blend_sum is not None else 0.0
        scores = [sign * scorer(rows, (base + preds[int(i)][rows]) / n) for i in allowed]
        pick = int(allowed[int(np.argmax(scores))])
        counts[pick] += 1
        part = preds[pick][rows]
        blend_sum = part.copy() if blend_sum is None else blend_sum + part
        if max(scores) > best_score + 1e-12:
            best_score, best_counts = max(scores), counts.copy()
    return best_counts


def blend(preds: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, float) / float(np.sum(weights))
    return np.asarray(sum(wi * p for wi, p in zip(w, preds, strict=True) if wi > 0))


# --- choosing ensembles from out-of-fold predictions --------------------------------------


def _nested_choice(
    oofs: Sequence[np.ndarray],
    y: np.ndarray,
    classification: bool,
    seed: int,
    choose: Callable[[np.ndarray], Any],
    apply: Callable[[Any, np.ndarray], np.ndarray],
) -> tuple[Any, np.ndarray]:
    """Choose on all rows; score the choice on rows it did not see (nested folds)."""
    template = oofs[0]
    nested = np.zeros_like(template)
    for train, valid in nest_folds(y, classification, seed):
        nested[valid] = apply(choose(train), valid)
    return choose(np.arange(len(y))), nested


def plan_voting(
    oofs: Sequence[np.ndarray],
    y: np.ndarray,
    scorer: Scorer,
    *,
    classification: bool,
    greater_is_better: bool,
    seed: int,
    max_members: int = 5,
) -> tuple[np.ndarray, np.ndarray]:
    """Caruana weights over ``oofs`` and the ensemble's nested out-of-fold prediction."""

    def choose(rows: np.ndarray) -> np.ndarray:
        return caruana_weights(
            oofs, scorer, rows, greater_is_better=greater_is_better, rounds=15, max_members=max_members
        )

    def apply(weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return blend([p[rows] for p in oofs], weights)

    return _nested_choice(oofs, y, classification, seed, choose, apply)


def plan_stack(oofs: Sequence[np.ndarray], y: np.ndarray, task: str, seed: int) -> tuple[Any, np.ndarray]:
    """A meta-learner fitted on ``oofs`` and its nested out-of-fold prediction."""
    classification = task == "classification"
    meta = meta_features(oofs, classification)
    classes = np.unique(y) if classification else np.array([])

    def choose(rows: np.ndarray) -> Any:
        return clone(default_meta_learner(task)).fit(meta[rows], y[rows])

    def apply(model: Any, rows: np.ndarray) -> np.ndarray:
        return _member_output(model, meta[rows], classification, classes)

    return _nested_choice(oofs, y, classification, seed, choose, apply)


# --- ensembles as leaderboard entries -------------------------------------------------


@dataclass
class EnsemblePlan:
    """An ensemble chosen on out-of-fold predictions, waiting for its members' refits."""

    trial: TrialResult
    members: list[TrialResult]
    weights: list[float] | None = None  # voting
    meta: Any = None  # stacking


def _scorer(data: TrialData, y: np.ndarray) -> Scorer:
    """The primary metric on a blend; called many times, so labels are integer codes."""
    from slipway.automl import metrics

    if data.classes is None:
        return lambda rows, pred: metrics.score(data.metric, data.task, y[rows], pred)
    codes = pd.Index(data.classes).get_indexer(y)
    classes = list(range(len(data.classes)))

    def scorer(rows: np.ndarray, pred: np.ndarray) -> float:
        return metrics.score(
            data.metric, data.task, codes[rows], pred.argmax(axis=1), y_proba=pred, classes=classes
        )

    return scorer


def plan_ensembles(
    data: TrialData,
    ranked: list[TrialResult],
    oofs: dict[int, np.ndarray],
    first_id: int,
    emit: Callable[[dict[str, Any]], None],
) -> list[EnsemblePlan]:
    """VotingEnsemble and StackEnsemble over the best trials, scored out of fold (nested).

    ``ranked`` is best-first; ``oofs`` maps trial ids to out-of-fold predictions.
    An ensemble that cannot be planned is a Failed trial; the other still goes on.
    """
    plans = []
    for offset, (name, choose) in enumerate(
        (("VotingEnsemble", _choose_voting), ("StackEnsemble", _choose_stack))
    ):
        trial_id = first_id + offset
        emit({"type": "ensemble_started", "trial_id": trial_id, "algorithm": name})
        started = time.monotonic()
        try:
            choice = choose(data, ranked, oofs)
            plan = EnsemblePlan(
                _scored_trial(data, trial_id, name, choice.params, choice.nested),
                choice.members,
                weights=choice.weights,
                meta=choice.meta,
            )
        except Exception as exc:
            plan = EnsemblePlan(
                TrialResult(
                    trial_id=trial_id,
                    algorithm=name,
                    learner=name,
                    params={},
                    status="Failed",
                    source="ensemble",
                    error=short_error(exc),
                ),
                [],
            )
        plan.trial.duration_s = time.monotonic() - started
        plans.append(plan)
    return plans


@dataclass
class _Choice:
    members: list[TrialResult]
    params: dict[str, Any]
    nested: np.ndarray  # the ensemble's nested out-of-fold prediction
    weights: list[float] | None = None
    meta: Any = None


def _choose_voting(data: TrialData, ranked: list[TrialResult], oofs: dict[int, np.ndarray]) -> _Choice:
    y = data.y[data.eval_index]
    cands = ranked[:ENSEMBLE_CANDIDATES]
    counts, nested = plan_voting(
        [oofs[t.trial_id] for t in cands],
        y,
        _scorer(data, y),
        classification=data.task == "classification",
        greater_is_better=data.greater_is_better,
        seed=data.seed,
        max_members=MAX_VOTING_MEMBERS,
    )
    chosen = [i for i in range(len(cands)) if counts[i] > 0]
    params = {
        "members": [cands[i].trial_id for i in chosen],
        "weights": [float(counts[i] / counts.sum()) for i in chosen],
    }
    return _Choice([cands[i] for i in chosen], params, nested, weights=[float(counts[i]) for i in chosen])


def _choose_stack(data: TrialData, ranked: list[TrialResult], oofs: dict[int, np.ndarray]) -> _Choice:
    y = data.y[data.eval_index]
    top = ranked[:STACK_MEMBERS]
    meta, nested = plan_stack([oofs[t.trial_id] for t in top], y, data.task, data.seed)
    params = {"members": [t.trial_id for t in top], "meta_learner": type(meta).__name__}
    return _Choice(top, params, nested, meta=meta)


def _scored_trial(
    data: TrialData, trial_id: int, name: str, params: dict[str, Any], nested: np.ndarray
) -> TrialResult:
    from slipway.automl import metrics

    y = data.y[data.eval_index]
    y_pred, y_proba = _labels(nested, data.classes)
    result = metrics.compute_metrics(data.task, y, y_pred, y_proba=y_proba, classes=data.classes)
    return TrialResult(
        trial_id=trial_id,
        algorithm=name,
        learner=name,
        params=params,
        status="Running",
        metrics={k: float(v) for k, v in result.items()},
        charts=_charts(data, y, y_pred, y_proba),
        score=float(result[data.metric]),
        source="ensemble",
    )


def build_ensemble(data: TrialData, ens: EnsemblePlan, *, refit_ids: set[int]) -> None:
    """Assemble the fitted ensemble from its members' models (or mark it Canceled).

    Featurizers are shared only among members refit on all rows (``refit_ids``):
    fold models were fitted on other rows, so theirs differ.
    """
    trial, started = ens.trial, time.monotonic()
    if trial.status == "Failed":
        return
    missing = [m.trial_id for m in ens.members if m.model is None]
    if missing:
        trial.status = "Canceled"
        trial.error = f"members {missing} could not be refit within the time budget"
    else:
        members = [(f"trial_{m.trial_id}", m.model) for m in ens.members]
        share_featurizers([m.model for m in ens.members if m.trial_id in refit_ids])
        est: Any = (
            VotingEnsemble.from_fitted(members, ens.weights or [], data.task, data.classes)
            if ens.weights is not None
            else StackEnsemble.from_fitted(members, ens.meta, data.task, data.classes)
        )
        trial.model = Pipeline([("ensemble", est)])
        trial.predict_latency_ms = predict_latency_ms(trial.model, data.X.iloc[:2])
        trial.status = "Completed"
    trial.duration_s += time.monotonic() - started
