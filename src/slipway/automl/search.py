"""The search: a portfolio of strong defaults, then Bayesian search (Optuna TPE),
run trial by trial through an executor within the time budget.

The portfolio gives a good model within the first minute; the TPE study then
tunes the learners that did best, warm-started with the portfolio's results.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from slipway.automl.ensemble import ENSEMBLE_CANDIDATES, MAX_VOTING_MEMBERS
from slipway.automl.estimators import MAX_TREES, get_learner
from slipway.automl.featurize import ColumnPlan, featurizer_name
from slipway.automl.settings import AutoMLSettings
from slipway.automl.trial import TrialData, TrialOutcome, TrialResult, TrialSpec, run_trial
from slipway.compute import Executor, SharedRef

_GBM_A = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "colsample_bytree": 0.8,
    "subsample": 0.8,
    "reg_alpha": 0.001,
    "reg_lambda": 1.0,
}
_GBM_B = {
    "learning_rate": 0.02,
    "num_leaves": 15,
    "min_child_samples": 40,
    "colsample_bytree": 0.5,
    "subsample": 0.7,
    "reg_alpha": 0.001,
    "reg_lambda": 5.0,
}
_GBM_DEFAULT = {
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_child_samples": 20,
    "colsample_bytree": 1.0,
    "subsample": 1.0,
    "reg_alpha": 0.001,
    "reg_lambda": 0.001,
}
_GBM_C = {
    "learning_rate": 0.03,
    "num_leaves": 63,
    "min_child_samples": 10,
    "colsample_bytree": 0.6,
    "subsample": 0.9,
    "reg_alpha": 0.01,
    "reg_lambda": 0.1,
}
_XGB_A = {
    "learning_rate": 0.05,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "reg_alpha": 0.001,
}
_XGB_B = {
    "learning_rate": 0.02,
    "max_depth": 4,
    "min_child_weight": 5.0,
    "subsample": 0.7,
    "colsample_bytree": 0.5,
    "reg_lambda": 5.0,
    "reg_alpha": 0.001,
}
_TREES = {"n_estimators": MAX_TREES}
_LGBM_FIXED = {**_TREES, "subsample_freq": 1}

# (learner, params) in the order they are tried; learners not allowed are skipped.
PORTFOLIO: dict[str, list[tuple[str, dict[str, Any]]]] = {}
for _task, _linear in (
    ("classification", ("LogisticRegression", {"C": 1.0})),
    ("regression", ("ElasticNet", {"alpha": 0.001, "l1_ratio": 0.5})),
):
    PORTFOLIO[_task] = [
        ("LightGBM", {**_LGBM_FIXED, **_GBM_DEFAULT}),  # quick: a model within seconds
        ("LightGBM", {**_LGBM_FIXED, **_GBM_A}),
        ("XGBoost", {**_TREES, **_XGB_A}),
        _linear,
        ("LightGBM", {**_LGBM_FIXED, **_GBM_C}),
        ("XGBoost", {**_TREES, **_XGB_B}),
        ("CatBoost", {**_TREES, "learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0}),
        ("LightGBM", {**_LGBM_FIXED, **_GBM_B}),
        # Forests last and small: they add diversity to the ensembles, rarely the best model.
        ("ExtraTrees", {"n_estimators": 100, "max_features": 0.3, "min_samples_leaf": 10}),
        (
            "RandomForest",
            {"n_estimators": 100, "max_features": 0.3, "min_samples_leaf": 10, "max_samples": 0.5},
        ),
    ]

MAX_TUNED_LEARNERS = 3
TUNE_MARGIN = 0.002  # relative distance to the best portfolio score for a learner to be tuned


@dataclass
class Proposal:
    learner: str
    params: dict[str, Any]
    source: str  # portfolio | tpe
    optuna_number: int | None = None


class _Recorder:
    """Answers ``suggest_*`` from fixed values and records the distributions."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, BaseDistribution] = {}

    def _take(self, name: str, dist: BaseDistribution) -> Any:
        short = name.split("__", 1)[-1]
        value = self.values[short]
        if not dist._contains(dist.to_internal_repr(value)):
            raise ValueError(f"{name}={value} outside the search space")
        self.params[name], self.distributions[name] = value, dist
        return value

    def suggest_float(
        self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None
    ) -> Any:
        return self._take(name, FloatDistribution(low, high, log=log, step=step))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> Any:
        return self._take(name, IntDistribution(low, high, log=log, step=step))


class Proposer:
    """Hands out configurations: the portfolio first, then TPE suggestions."""

    def __init__(
        self,
        task: str,
        learners: list[str],
        *,
        seed: int,
        greater_is_better: bool,
        learner_params: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.task = task
        self.learners = learners
        self.greater_is_better = greater_is_better
        self.learner_params = learner_params or {}
        self.queue = [(name, dict(p)) for name, p in PORTFOLIO[task] if name in learners]
        queued = {name for name, _ in self.queue}
        self.queue += [(name, {}) for name in learners if name not in queued]
        self.best: dict[str, float] = {}
        self._portfolio_done: list[tuple[str, dict[str, Any], float]] = []
        self._pending: dict[int, optuna.trial.Trial] = {}
        self._study: optuna.Study | None = None
        self._choices: list[str] = []
        self.seed = seed

    def next(self) -> Proposal:
        if self.queue:
            name, params = self.queue.pop(0)
            return Proposal(name, self._override(name, params), "portfolio")
        study = self._ensure_study()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = study.ask()
            name = trial.suggest_categorical("learner", self._choices)
            params = get_learner(name).space(trial, self.task)
        self._pending[trial.number] = trial
        return Proposal(name, self._override(name, params), "tpe", trial.number)

    def _override(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, **self.learner_params.get(name, {})}

    def tell(self, proposal: Proposal, status: str, score: float | None) -> None:
        if status == "Completed" and score is not None:
            old = self.best.get(proposal.learner)
            if old is None or self._better(score, old):
                self.best[proposal.learner] = score
        if proposal.source == "portfolio":
            if status == "Completed" and score is not None:
                self._portfolio_done.append((proposal.learner, proposal.params, score))
            return
        trial = self._pending.pop(proposal.optuna_number or 0, None)
        if trial is None or self._study is None:
            return
        if status == "Completed" and score is not None:
            self._study.tell(trial, score)
        elif status == "Pruned":
            self._study.tell(trial, state=TrialState.PRUNED)
        else:
            self._study.tell(trial, state=TrialState.FAIL)

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.greater_is_better else a < b

    def _ensure_study(self) -> optuna.Study:
        if self._study is not None:
            return self._study
        ranked = sorted(self.best, key=lambda n: self.best[n], reverse=self.greater_is_better)
        if ranked:  # tune only learners close to the best one
            top = self.best[ranked[0]]
            slack = TUNE_MARGIN * max(abs(top), 1e-3)
            ranked = [n for n in ranked if abs(self.best[n] - top) <= slack]
        self._choices = ranked[:MAX_TUNED_LEARNERS] or list(self.learners[:MAX_TUNED_LEARNERS])
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(
                seed=self.seed, multivariate=True, group=True, n_startup_trials=5, constant_liar=True
            )
            self._study = optuna.create_study(
                direction="maximize" if self.greater_is_better else "minimize", sampler=sampler
            )
            for name, params, score in self._portfolio_done:
                self._warm_start(name, params, score)
        return self._study

    def _warm_start(self, name: str, params: dict[str, Any], score: float) -> None:
        assert self._study is not None
        if name not in self._choices:
            return
        rec = _Recorder(params)
        try:
            get_learner(name).space(rec, self.task)
        except (KeyError, ValueError):
            return  # the portfolio entry is outside the tuned space
        rec.params["learner"] = name
        rec.distributions["learner"] = CategoricalDistribution(self._choices)
        self._study.add_trial(
            optuna.trial.create_trial(params=rec.params, distributions=rec.distributions, value=score)
        )


# --- the search loop: trials through the executor, within the budget ---------------------

Event = dict[str, Any]
MAX_TRIAL_SHARE = 0.35  # no single trial may take more of the budget than this
OVERRUN_GRACE_S = 2.0  # a trial past its limit by this much is canceled without waiting
MIN_TRIALS_TO_PRUNE = 8
PRUNE_PERCENTILE = 25.0  # prune a trial worse than three quarters of the completed ones
EXPLAIN_RESERVE_S = 5.0


@dataclass
class _Running:
    spec: TrialSpec
    proposal: Proposal
    started: float


@dataclass
class SearchContext:
    settings: AutoMLSettings
    data: TrialData
    ref: SharedRef
    executor: Executor
    emit: Callable[[Event], None]
    should_stop: Callable[[], bool]
    start: float
    deadline: float
    stop_path: str
    n_jobs: int
    trials: list[TrialResult] = field(default_factory=list)
    outcomes: dict[int, TrialOutcome] = field(default_factory=dict)
    fold_models: dict[int, Any] = field(default_factory=dict)  # top trials' last-fold models
    refit_ids: set[int] = field(default_factory=set)  # trials whose model saw all rows
    stopped: str | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def run_search(ctx: SearchContext) -> None:
    s = ctx.settings
    proposer = Proposer(
        s.task,
        s.learners(),
        seed=s.seed,
        greater_is_better=ctx.data.greater_is_better,
        learner_params=s.learner_params,
    )
    running: dict[Future[Any], _Running] = {}
    launched = 0
    slots = worker_slots(ctx)
    while True:
        if ctx.stopped is None:
            ctx.stopped = _stop_reason(ctx, launched)
        elif ctx.stopped != "canceled" and ctx.should_stop():
            ctx.stopped = "canceled"
        while ctx.stopped is None and len(running) < slots:
            launch = _launch(ctx, proposer, launched)
            launched += 1
            if launch is None:
                ctx.stopped = "executor_failed"
                break
            running[launch[0]] = launch[1]
            ctx.stopped = _stop_reason(ctx, launched)
        if not running:
            return
        if ctx.stopped == "canceled" or (ctx.stopped == "timeout" and not _nothing_yet(ctx)):
            _cancel_all(ctx, proposer, running, ctx.stopped)
            return
        done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
        for fut in done:
            run = running.pop(fut)
            _record(ctx, proposer, run, _outcome(fut, run))
        _cancel_overruns(ctx, proposer, running)


def worker_slots(ctx: SearchContext) -> int:
    workers = getattr(ctx.executor, "max_workers", ctx.settings.concurrency)
    return max(1, min(ctx.settings.concurrency, int(workers)))


def _stop_reason(ctx: SearchContext, launched: int) -> str | None:
    if ctx.should_stop():
        return "canceled"
    if ctx.settings.iterations is not None and launched >= ctx.settings.iterations:
        return "iterations"
    if ctx.remaining() <= _reserve_s(ctx):
        return "timeout"
    return None


def _nothing_yet(ctx: SearchContext) -> bool:
    """No trial has completed: running ones may use the time kept for the refit, and
    part of the grace period (their last fold's model then stands in for a refit)."""
    return not any(t.status == "Completed" for t in ctx.trials) and ctx.remaining() > -0.5 * grace_s(ctx)


def grace_s(ctx: SearchContext) -> float:
    """How far past the budget a run may end: max(10% of the budget, 15 s)."""
    return max(0.1 * ctx.settings.timeout_s, 15.0)


def _reserve_s(ctx: SearchContext) -> float:
    """Time kept for the final refit, ensembles and explanation."""
    budget = ctx.settings.timeout_s
    done = [t for t in ctx.trials if t.status == "Completed" and t.score is not None]
    if not done:
        return 0.15 * budget
    k = max(2, len(ctx.data.folds))
    # One refit ~ one fold on all rows; the ensemble members refit in parallel.
    per_fit = [t.duration_s / (k - 1) * 1.2 for t in done]
    members = sorted(per_fit, reverse=True)[: MAX_VOTING_MEMBERS + 1]
    refit = sum(members) / worker_slots(ctx) + 0.5 * max(members)
    needed = refit + EXPLAIN_RESERVE_S + 2.0
    return min(0.35 * budget, max(0.1 * budget, needed))


def _launch(ctx: SearchContext, proposer: Proposer, trial_id: int) -> tuple[Future[Any], _Running] | None:
    proposal = proposer.next()
    limit = min(
        max(1.0, ctx.remaining() - _reserve_s(ctx)), max(MAX_TRIAL_SHARE * ctx.settings.timeout_s, 10.0)
    )
    if not any(t.status == "Completed" for t in ctx.trials):  # better late than no model
        limit = max(limit, ctx.remaining() + 0.5 * grace_s(ctx))
    spec = TrialSpec(
        trial_id=trial_id,
        learner=proposal.learner,
        params=proposal.params,
        seed=ctx.settings.seed,
        n_jobs=ctx.n_jobs,
        limit_s=limit,
        stop_path=ctx.stop_path,
        prune_thresholds=_prune_thresholds(ctx),
    )
    ctx.emit(
        {
            "type": "trial_started",
            "trial_id": trial_id,
            "algorithm": _algorithm(ctx.data.plan, proposal.learner),
            "learner": proposal.learner,
            "params": _json_params(proposal.params),
        }
    )
    run = _Running(spec, proposal, time.monotonic())
    try:
        fut = ctx.executor.submit(run_trial, ctx.ref, spec)
    except Exception as exc:  # a broken pool: record the trial, stop searching
        from slipway.automl.trial import short_error

        _record(ctx, proposer, run, TrialOutcome(trial_id, "Failed", error=short_error(exc)))
        return None
    return fut, run


def _prune_thresholds(ctx: SearchContext) -> list[float | None]:
    """Optuna's percentile rule, per fold, over the running scores of completed trials."""
    full = [
        o.fold_scores
        for o in ctx.outcomes.values()
        if o.status == "Completed" and len(o.fold_scores) == len(ctx.data.folds)
    ]
    if len(full) < MIN_TRIALS_TO_PRUNE or len(ctx.data.folds) < 2:
        return []
    running = np.array([np.cumsum(f) / np.arange(1, len(f) + 1) for f in full])
    q = PRUNE_PERCENTILE if ctx.data.greater_is_better else 100.0 - PRUNE_PERCENTILE
    return [float(v) for v in np.percentile(running, q, axis=0)]


def _outcome(fut: Future[Any], run: _Running) -> TrialOutcome:
    try:
        return fut.result()
    except Exception as exc:  # the worker died or the task could not be sent
        from slipway.automl.trial import short_error

        return TrialOutcome(
            run.spec.trial_id, "Failed", error=short_error(exc), duration_s=time.monotonic() - run.started
        )


def _record(ctx: SearchContext, proposer: Proposer, run: _Running, outcome: TrialOutcome) -> None:
    pruned = outcome.status == "Canceled" and (outcome.error or "").startswith("TrialPruned")
    proposer.tell(run.proposal, "Pruned" if pruned else outcome.status, outcome.score)
    if outcome.fold_model is not None:
        ctx.fold_models[outcome.trial_id] = outcome.fold_model
        outcome.fold_model = None
    ctx.outcomes[outcome.trial_id] = outcome
    trial = TrialResult(
        trial_id=outcome.trial_id,
        algorithm=_algorithm(ctx.data.plan, run.proposal.learner),
        learner=run.proposal.learner,
        params=_json_params(run.proposal.params),
        status=outcome.status,
        metrics=outcome.metrics,
        charts=outcome.charts,
        score=outcome.score,
        duration_s=outcome.duration_s,
        error=outcome.error,
        predict_latency_ms=outcome.predict_latency_ms,
        source=run.proposal.source,
        n_estimators=outcome.n_estimators,
    )
    ctx.trials.append(trial)
    _keep_top_fold_models(ctx)
    ctx.emit({"type": "trial_finished", "trial": trial.to_dict()})


def _keep_top_fold_models(ctx: SearchContext) -> None:
    keep = {t.trial_id for t in ensemble_candidates(rank_trials(ctx, ctx.trials))}
    for trial_id in [i for i in ctx.fold_models if i not in keep]:
        del ctx.fold_models[trial_id]


def _cancel_trial(ctx: SearchContext, proposer: Proposer, running: dict[Future[Any], _Running],
                  fut: Future[Any], now: float, error: str) -> None:
    """Stop waiting for one trial and record it as Canceled."""
    run = running.pop(fut)
    fut.cancel()
    _record(ctx, proposer, run, TrialOutcome(run.spec.trial_id, "Canceled",
                                             duration_s=now - run.started, error=error))


def _cancel_overruns(ctx: SearchContext, proposer: Proposer, running: dict[Future[Any], _Running]) -> None:
    now = time.monotonic()
    for fut, run in list(running.items()):
        if now - run.started > run.spec.limit_s + OVERRUN_GRACE_S:
            _cancel_trial(ctx, proposer, running, fut, now,
                          f"TrialTimeout: no result within the {run.spec.limit_s:.0f} s trial limit")


def _cancel_all(
    ctx: SearchContext, proposer: Proposer, running: dict[Future[Any], _Running], reason: str
) -> None:
    touch(ctx.stop_path)
    now = time.monotonic()
    error = "run canceled" if reason == "canceled" else "run time budget reached"
    for fut in list(running):
        _cancel_trial(ctx, proposer, running, fut, now, error)


def touch(path: str) -> None:
    with contextlib.suppress(OSError):
        Path(path).touch()


def _algorithm(plan: ColumnPlan, learner: str) -> str:
    return f"{featurizer_name(plan, get_learner(learner).style)}, {learner}"


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    from slipway.core.model_dir import json_safe

    return {str(k): json_safe(v) for k, v in params.items()}


def ensemble_candidates(ranked: list[TrialResult]) -> list[TrialResult]:
    """The best trials, with the best of each learner among them for diversity."""
    firsts = list({t.learner: t for t in reversed(ranked)}.values())
    cands = ranked[: ENSEMBLE_CANDIDATES - len(firsts)]
    cands += [t for t in firsts if t not in cands]
    return sorted(cands, key=ranked.index)[:ENSEMBLE_CANDIDATES]


def rank_trials(ctx: SearchContext, trials: list[TrialResult]) -> list[TrialResult]:
    """Best first by the primary metric; trials without a score last, by id."""
    sign = -1.0 if ctx.data.greater_is_better else 1.0

    def key(t: TrialResult) -> tuple[int, float, int]:
        ok = t.status == "Completed" and t.score is not None and np.isfinite(t.score)
        return (0 if ok else 1, sign * float(t.score) if ok else 0.0, t.trial_id)  # type: ignore[arg-type]

    return sorted(trials, key=key)
