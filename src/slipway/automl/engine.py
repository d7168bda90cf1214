"""``run_automl``: guardrails, search through an executor, ensembles, final model.

The engine owns the clock. The whole run ends within the budget: trials get
time limits, overrunning trials are canceled (not waited for), and time for
the final refit and ensembles is reserved before the search stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any

import numpy as np
import pandas as pd

from slipway.automl.ensemble import (
    STACK_MEMBERS,
    EnsemblePlan,
    build_ensemble,
    plan_ensembles,
)
from slipway.automl.featurize import ColumnPlan, infer_column_types, plan_columns
from slipway.automl.search import (
    Event,
    SearchContext,
    ensemble_candidates,
    grace_s,
    rank_trials,
    run_search,
    touch,
    worker_slots,
)
from slipway.automl.settings import SHORT_BUDGET_S, AutoMLSettings, make_folds, sample_weight
from slipway.automl.trial import (
    AutoMLResult,
    TrialData,
    TrialResult,
)
from slipway.compute import Executor, LocalExecutor, share
from slipway.core.errors import InvalidInput

THREADED_CELLS = 500_000  # rows x columns from which learners use several threads


def run_automl(
    df: pd.DataFrame,
    settings: AutoMLSettings,
    *,
    executor: Executor | None = None,
    on_event: Callable[[Event], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AutoMLResult:
    """Search for the best model of ``settings.target`` in ``df`` within ``settings.timeout_s``.

    >>> result = run_automl(df, AutoMLSettings(task="classification", target="y", timeout_s=60))
    >>> result.leaderboard[0], result.best_model.predict(df.head(2))
    >>> result.save_best("model/")

    ``on_event`` receives plain dicts as trials start and finish; ``should_stop``
    is polled and, once true, the run stops and returns the best model so far.
    """
    start = time.monotonic()
    if not isinstance(settings, AutoMLSettings):
        raise InvalidInput("settings must be an AutoMLSettings")
    own = executor is None
    pool: Executor = (
        executor
        if executor is not None
        else LocalExecutor(settings.concurrency, preload=("slipway.automl.trial",))
    )
    if own:  # start the workers now: they import while the guardrails run
        for _ in range(settings.concurrency):
            pool.submit(os.getpid)
    stop_dir = tempfile.mkdtemp(prefix="slipway-automl-")
    try:
        ctx, report, X, plan = _start(
            df, settings, pool, _safe_emit(on_event), should_stop, start, os.path.join(stop_dir, "stop")
        )
        run_search(ctx)
        result = _finalize(ctx, report, X, plan)
    finally:
        touch(os.path.join(stop_dir, "stop"))  # tell stragglers to stop
        if own:
            pool.shutdown(cancel=True)
        shutil.rmtree(stop_dir, ignore_errors=True)
    ctx.emit(
        {
            "type": "done",
            "best_trial_id": result.best_trial_id,
            "duration_s": time.monotonic() - start,
            "stopped": ctx.stopped,
        }
    )
    return result


def _start(
    df: pd.DataFrame,
    settings: AutoMLSettings,
    pool: Executor,
    emit: Callable[[Event], None],
    should_stop: Callable[[], bool] | None,
    start: float,
    stop_path: str,
) -> tuple[SearchContext, Any, pd.DataFrame, ColumnPlan]:
    """Guardrails, featurization plan, folds; the data shipped to the workers."""
    report, X, y, plan = _prepare(df, settings)
    emit(
        {
            "type": "guardrails",
            "guardrails": report.to_dict()["guardrails"],
            "drop_columns": list(report.drop_columns),
        }
    )
    data = _trial_data(X, y, plan, settings)
    ctx = SearchContext(
        settings=settings,
        data=data,
        ref=share(pool, data),
        executor=pool,
        emit=emit,
        should_stop=should_stop or (lambda: False),
        start=start,
        deadline=start + settings.timeout_s,
        stop_path=stop_path,
        n_jobs=1,
    )
    # Threads only pay off on larger data; on small data their start-up and
    # synchronisation cost more than they save (and hurt a busy machine).
    if X.size >= THREADED_CELLS:
        ctx.n_jobs = max(1, _cpu_count() // worker_slots(ctx))
    return ctx, report, X, plan


def _cpu_count() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def _safe_emit(on_event: Callable[[Event], None] | None) -> Callable[[Event], None]:
    def emit(event: Event) -> None:
        if on_event is not None:
            on_event(event)

    return emit


def _prepare(df: pd.DataFrame, settings: AutoMLSettings) -> tuple[Any, pd.DataFrame, np.ndarray, ColumnPlan]:
    from slipway.automl import guardrails

    if not isinstance(df, pd.DataFrame) or df.empty:
        raise InvalidInput("training data must be a non-empty pandas DataFrame")
    missing = [c for c in settings.exclude_columns if c not in df.columns]
    if missing:
        raise InvalidInput(
            f"exclude_columns not in the data: {', '.join(map(str, missing))}",
            hint=f"available columns: {', '.join(map(str, df.columns))}",
        )
    guardrails.check_target(df, settings.target, settings.task)
    df = df.drop(columns=list(settings.exclude_columns))
    report = guardrails.run_guardrails(df, settings.target, settings.task, column_types=settings.column_types)
    df = df.loc[df[settings.target].notna()]
    X = df.drop(columns=[settings.target, *report.drop_columns]).reset_index(drop=True)
    X.columns = [str(c) for c in X.columns]
    if X.shape[1] == 0:
        raise InvalidInput(
            f"no feature column is left after the guardrails dropped {', '.join(report.drop_columns)}",
            hint="add informative columns",
        )
    y_raw = df[settings.target]
    if settings.task == "regression":
        y = y_raw.to_numpy(dtype=float)
    else:
        y = np.asarray(
            y_raw.to_numpy(
                dtype=object
                if y_raw.dtype.kind in "OUST" or not pd.api.types.is_numeric_dtype(y_raw.dtype)
                else None
            )
        )
    types = {
        **infer_column_types(X, settings.column_types),
        **{k: v for k, v in report.column_types.items() if k in X.columns},
    }
    return report, X, y, plan_columns(X, types, settings.featurization)


def _trial_data(X: pd.DataFrame, y: np.ndarray, plan: ColumnPlan, settings: AutoMLSettings) -> TrialData:
    from slipway.automl import metrics

    classification = settings.task == "classification"
    classes = sorted(pd.unique(y).tolist()) if classification else None
    assert settings.primary_metric is not None
    return TrialData(
        X=X,
        y=y,
        task=settings.task,
        metric=settings.primary_metric,
        classes=classes,
        folds=make_folds(y, settings),
        plan=plan,
        sample_weight=sample_weight(y, settings),
        greater_is_better=metrics.GREATER_IS_BETTER[settings.primary_metric],
        seed=settings.seed,
    )


# --- after the search: ensembles, refit, explanation -------------------------------------

EXPLAIN_ROWS = 2000


def _finalize(ctx: SearchContext, report: Any, X: pd.DataFrame, plan: ColumnPlan) -> AutoMLResult:
    from slipway.core.model_dir import infer_signature

    s = ctx.settings
    ranked = rank_trials(
        ctx,
        [
            t
            for t in ctx.trials
            if t.status == "Completed"
            and ctx.outcomes.get(t.trial_id) is not None
            and ctx.outcomes[t.trial_id].oof is not None
        ],
    )
    notes: list[str] = []
    plans: list[EnsemblePlan] = []
    refits: dict[Future[Any], TrialResult] = {}
    with_ensembles = s.ensembles and len(ranked) >= 2 and ctx.stopped != "canceled"
    # Refit the likely members while the ensembles are chosen: the best trial first.
    _submit_refits(ctx, ranked[: STACK_MEMBERS if with_ensembles else 1], refits, notes)
    if with_ensembles:
        cands = ensemble_candidates(ranked)
        oofs = {t.trial_id: ctx.outcomes[t.trial_id].oof for t in cands}
        plans = plan_ensembles(ctx.data, cands, oofs, len(ctx.trials), ctx.emit)  # type: ignore[arg-type]
        ctx.trials += [p.trial for p in plans]
    _submit_refits(ctx, [m for p in plans for m in p.members], refits, notes)
    _collect_refits(ctx, refits, notes)
    for ens in plans:
        if ctx.remaining() < 0:
            ens.trial.status, ens.trial.error = "Canceled", "no time left to assemble it"
        else:
            try:
                build_ensemble(ctx.data, ens, refit_ids=ctx.refit_ids)
            except Exception as exc:
                from slipway.automl.trial import short_error

                ens.trial.status, ens.trial.error = "Failed", short_error(exc)
                ens.trial.model = None
        ctx.emit({"type": "trial_finished", "trial": ens.trial.to_dict()})
    best = _choose_best(ctx)
    explanation = _explain(ctx, best, X, notes) if best is not None else []
    signature = infer_signature(
        X, task=s.task, target=s.target, column_types=plan.types, classes=ctx.data.classes
    )
    leaderboard = [t.leaderboard_row() for t in rank_trials(ctx, ctx.trials)]
    assert s.primary_metric is not None
    return AutoMLResult(
        primary_metric=s.primary_metric,
        guardrails=report.to_dict(),
        trials=sorted(ctx.trials, key=lambda t: t.trial_id),
        leaderboard=leaderboard,
        best_trial_id=best.trial_id if best else None,
        best_model=best.model if best else None,
        signature=signature,
        explanation=explanation,
        featurization=plan.summary(),
        duration_s=time.monotonic() - ctx.start,
        stopped=ctx.stopped,
        notes=notes,
    )


def _choose_best(ctx: SearchContext) -> TrialResult | None:
    """The best scoring trial that has a model: the top of the leaderboard.

    Ensembles stay small (a few members sharing one featurizer), so the best
    score is taken as is; the leaderboard shows each entry's latency.
    """
    completed = [t for t in ctx.trials if t.status == "Completed" and t.model is not None]
    ranked = rank_trials(ctx, completed)
    return ranked[0] if ranked else None


def _submit_refits(
    ctx: SearchContext,
    trials: list[TrialResult],
    futures: dict[Future[Any], TrialResult],
    notes: list[str],
) -> None:
    """Start refitting each trial on all rows (once per trial), in the workers."""
    from slipway.automl.trial import refit_model, short_error

    submitted = {t.trial_id for t in futures.values()}
    for t in trials:
        if t.trial_id in submitted:
            continue
        submitted.add(t.trial_id)
        try:
            fut = ctx.executor.submit(
                refit_model, ctx.ref, t.learner, t.params, ctx.settings.seed, ctx.n_jobs, t.n_estimators
            )
        except Exception as exc:  # a broken pool: the fold models stand in
            notes.append(f"refit could not start: {short_error(exc)}")
            return
        futures[fut] = t


def _collect_refits(ctx: SearchContext, futures: dict[Future[Any], TrialResult], notes: list[str]) -> None:
    """Wait for the refits within the budget; late ones fall back to their last fold's model."""
    unique = list(futures.values())
    margin = min(3.0, 0.05 * ctx.settings.timeout_s)
    timeout = max(0.5, ctx.remaining() - margin)
    if ctx.stopped == "canceled" and unique:  # the user is waiting: refit only if cheap
        k = max(2, len(ctx.data.folds))
        timeout = min(timeout, max(5.0, 3.0 * unique[0].duration_s / (k - 1)))
    done, not_done = wait(list(futures), timeout=timeout)
    first = next(iter(futures), None)
    if first is not None and first in not_done and futures[first].trial_id not in ctx.fold_models:
        # Without the best model the run has nothing to show: use part of the grace period.
        wait([first], timeout=max(0.0, ctx.remaining() + 0.5 * grace_s(ctx)))
        done, not_done = {f for f in futures if f.done()}, {f for f in futures if not f.done()}
    for fut in not_done:
        fut.cancel()
        notes.append(f"refit of trial {futures[fut].trial_id} did not finish in time")
    for fut in done:
        trial, out = futures[fut], fut.result()
        if out.model is None:
            notes.append(f"refit of trial {trial.trial_id} failed: {out.error}")
            continue
        trial.model = out.model
        ctx.refit_ids.add(trial.trial_id)
        trial.predict_latency_ms = out.predict_latency_ms
    for trial in unique:
        if trial.model is None and trial.trial_id in ctx.fold_models:
            trial.model = ctx.fold_models[trial.trial_id]
            notes.append(
                f"trial {trial.trial_id} uses its last cross-validation fold's model "
                "(fitted on part of the rows): the refit on all rows was not ready"
            )


def _explain(
    ctx: SearchContext, best: TrialResult, X: pd.DataFrame, notes: list[str]
) -> list[dict[str, Any]]:
    """Permutation importance of the best model, in a worker, if time allows."""
    from slipway.automl.trial import explain, short_error

    if ctx.stopped == "canceled":
        notes.append("the run was canceled: the best model is not explained")
        return []
    if ctx.remaining() < 2.0:
        notes.append("no time left to explain the best model")
        return []
    short = ctx.settings.timeout_s < SHORT_BUDGET_S
    rows, repeats = (EXPLAIN_ROWS // 4, 2) if short else (EXPLAIN_ROWS, 3)
    try:
        fut = ctx.executor.submit(
            explain, best.model, X, ctx.data.y, ctx.data.task, ctx.data.metric, ctx.data.seed, rows, repeats
        )
        done, _ = wait([fut], timeout=max(0.5, ctx.remaining() - 0.5))
        if not done:
            fut.cancel()
            notes.append("explaining the best model did not finish in time")
            return []
        return list(fut.result())
    except Exception as exc:
        notes.append(f"explanation failed: {short_error(exc)}")
        return []
