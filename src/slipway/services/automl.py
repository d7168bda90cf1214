"""AutoML runs: submit a search over a registered dataset, execute it in a
worker, record every trial as a child run, keep the best model."""

from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slipway.core.entities import Run, RunStatus
from slipway.core.errors import Canceled, InvalidInput, SlipwayError
from slipway.core.ids import new_run_id
from slipway.services import datasets
from slipway.services.datasets import validate_name
from slipway.services.runs import worker_tag
from slipway.services.workspace import WorkspaceContext

if TYPE_CHECKING:
    from slipway.automl import AutoMLResult, AutoMLSettings, TrialResult

log = logging.getLogger("slipway.automl")


def submit(ctx: WorkspaceContext, experiment: str, dataset: str, settings: AutoMLSettings,
           *, dataset_version: int | None = None, launch: bool | None = None,
           max_retries: int = 0) -> Run:
    """Validate and queue an AutoML run. With ``launch`` (the default unless a
    worker loop serves this workspace: ``settings.queue_only``), start a
    one-shot worker process for it; otherwise a worker loop claims it."""
    from slipway.jobs.launcher import launch as launch_worker

    validate_name(experiment, "experiment")
    if not 0 <= max_retries <= 10:
        raise InvalidInput(f"max_retries must be between 0 and 10 (got {max_retries})")
    data = datasets.get(ctx, dataset, dataset_version)
    columns = [c["name"] for c in data.columns]
    if settings.target not in columns:
        raise InvalidInput(f"target column '{settings.target}' is not in dataset "
                           f"{data.name}:{data.version}",
                           hint=f"columns: {', '.join(columns)}")
    _check_target_profile(data.profile.get(settings.target, {}), settings)
    missing = [c for c in settings.exclude_columns if c not in columns]
    if missing:
        raise InvalidInput(f"excluded column(s) not in the dataset: {', '.join(missing)}",
                           hint=f"columns: {', '.join(columns)}")
    run = ctx.runs.create_run(
        new_run_id("AutoML"), experiment=experiment, kind="automl", status=RunStatus.QUEUED,
        display_name=f"AutoML {settings.task} on {data.name}:{data.version}",
        settings={"dataset": data.name, "dataset_version": data.version,
                  "automl": settings.to_dict()}, max_retries=max_retries)
    if launch if launch is not None else not ctx.settings.queue_only:
        launch_worker(ctx.settings, run.id)
    return run


def _check_target_profile(profile: dict[str, Any], settings: AutoMLSettings) -> None:
    """Refuse, before anything is queued, targets the profile already shows
    to be unusable (the engine checks again on the data itself)."""
    name = settings.target
    if not profile.get("count"):
        raise InvalidInput(f"target column '{name}' has no values", hint="choose another --target")
    if profile.get("distinct", 0) < 2:
        raise InvalidInput(f"target column '{name}' is constant: there is nothing to learn",
                           hint="choose another --target")
    if settings.task == "regression" and profile.get("type") != "numeric":
        raise InvalidInput(f"target column '{name}' is {profile.get('type')}, not numeric, so it "
                           "cannot be a regression target", hint="use --task classification")
    top = profile.get("top_values") or []
    if settings.task == "classification" and len(top) == profile.get("distinct"):
        rare = [str(t["value"]) for t in top if t["count"] < 2]
        if rare:
            raise InvalidInput(f"class(es) {', '.join(rare)} of '{name}' have fewer than 2 rows",
                               hint="add rows for them or drop those rows")


def execute(ctx: WorkspaceContext, run_id: str, *, claimed: bool = False) -> Run:
    """Run a queued AutoML run to the end in this process. ``claimed`` means a
    worker loop already moved it to Running for this process."""
    if claimed:
        # The loop claimed it; record this process (the leader of the run's
        # process group) as its worker, so a lost run's whole group can be reaped.
        ctx.runs.update_run(run_id, only_if_status=(RunStatus.RUNNING,), worker=worker_tag())
    elif not ctx.runs.claim(run_id, worker_tag()):
        run = ctx.runs.get_run(run_id)
        raise Canceled(f"run {run_id} is {run.status}, not queued; nothing to do")
    run = ctx.runs.get_run(run_id)
    with _Heartbeat(ctx, run_id):
        return _execute(ctx, run)


class _Heartbeat:
    """Refresh the run's heartbeat while it executes, so any reader (on any
    machine) can tell a live worker from a lost one."""

    def __init__(self, ctx: WorkspaceContext, run_id: str) -> None:
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(ctx, run_id), daemon=True,
                                        name="slipway-heartbeat")

    def _beat(self, ctx: WorkspaceContext, run_id: str) -> None:
        from slipway.services.runs import HEARTBEAT_S

        while not self._stop.wait(HEARTBEAT_S):
            try:
                ctx.runs.heartbeat(run_id)
            except Exception as exc:  # a busy database must not kill the run
                log.warning("heartbeat for %s failed: %s", run_id, exc)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _execute(ctx: WorkspaceContext, run: Run) -> Run:
    from slipway.automl import AutoMLSettings, run_automl
    from slipway.compute import LocalExecutor

    run_id = run.id
    try:
        settings = AutoMLSettings(**run.settings["automl"])
        frame = datasets.load_table(ctx, run.settings["dataset"],
                                    run.settings["dataset_version"]).to_pandas()
        log.info("run %s: %s rows x %s columns, %s", run_id, *frame.shape, settings.to_dict())
        recorder = _Recorder(ctx, run)
        executor = LocalExecutor(settings.concurrency)
        try:
            result = run_automl(frame, settings, executor=executor, on_event=recorder,
                                should_stop=recorder.should_stop)
        finally:
            executor.shutdown(cancel=True)
        _finish(ctx, run, settings, result, canceled=recorder.canceled)
    except Exception as exc:
        message = exc.message if isinstance(exc, SlipwayError) else f"{type(exc).__name__}: {exc}"
        log.error("run %s failed: %s\n%s", run_id, message, traceback.format_exc())
        ctx.runs.update_run(run_id, status=RunStatus.FAILED, error=message,
                            ended_at=datetime.now(UTC))
        for child in ctx.runs.children(run_id):
            if not child.is_terminal:
                ctx.runs.update_run(child.id, status=RunStatus.CANCELED, ended_at=datetime.now(UTC))
        raise
    return ctx.runs.get_run(run_id)


def child_id(parent_id: str, trial_id: int) -> str:
    return f"{parent_id}_{trial_id}"


class _Recorder:
    """Turns engine events into child runs, and polls for cancellation."""

    def __init__(self, ctx: WorkspaceContext, parent: Run) -> None:
        self.ctx = ctx
        self.parent = parent
        self.canceled = False
        self._next_poll = 0.0

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "guardrails":
            props = {**self.ctx.runs.get_run(self.parent.id).properties,
                     "guardrails": event["guardrails"]}
            self.ctx.runs.update_run(self.parent.id, properties=props)
        elif kind == "trial_started":
            self._ensure_child(int(event["trial_id"]), event.get("algorithm", ""),
                               event.get("params") or {})
        elif kind == "trial_finished":
            self._finish_child(event["trial"])

    def _ensure_child(self, trial_id: int, algorithm: str, params: dict[str, Any]) -> str:
        run_id = child_id(self.parent.id, trial_id)
        try:
            self.ctx.runs.get_run(run_id)
        except SlipwayError:
            kind = "ensemble" if algorithm.endswith("Ensemble") else "trial"
            self.ctx.runs.create_run(run_id, experiment=self.parent.experiment, kind=kind,
                                     status=RunStatus.RUNNING, display_name=algorithm,
                                     params=_json_safe(params), parent_id=self.parent.id,
                                     started=True)
        return run_id

    def _finish_child(self, trial: dict[str, Any]) -> None:
        run_id = self._ensure_child(int(trial["trial_id"]), trial["algorithm"],
                                    trial.get("params") or {})
        charts_key = None
        if trial.get("charts"):
            charts_key = _store_json(self.ctx, trial["charts"])
        started = self.ctx.runs.get_run(run_id).started_at or datetime.now(UTC)
        duration = float(trial.get("duration_s") or 0.0)
        self.ctx.runs.update_run(
            run_id, status=trial["status"], display_name=trial["algorithm"],
            params=_json_safe(trial.get("params") or {}),
            metrics=_json_safe(trial.get("metrics") or {}), score=_finite(trial.get("score")),
            error=trial.get("error"), charts_artifact=charts_key,
            properties={"predict_latency_ms": trial.get("predict_latency_ms"),
                        "learner": trial.get("learner"), "trial_id": trial["trial_id"]},
            ended_at=_ended(started, duration))

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now >= self._next_poll:
            self._next_poll = now + 1.0
            self.canceled = self.canceled or self.ctx.runs.cancel_requested(self.parent.id)
        return self.canceled


def _ended(started: datetime, duration_s: float) -> datetime:
    from datetime import timedelta

    return started + timedelta(seconds=duration_s) if duration_s else datetime.now(UTC)


def _finite(value: Any) -> float | None:
    import math

    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_default, allow_nan=True).replace("NaN", "null"))


def _default(value: Any) -> Any:
    from slipway.core.model_dir import json_safe

    return json_safe(value) if hasattr(value, "item") else str(value)


def _store_json(ctx: WorkspaceContext, data: Any) -> str:
    with ctx.artifacts.staging(".json") as staged:
        staged.write_text(json.dumps(_json_safe(data)))
        return ctx.artifacts.commit(staged, ".json").key


def _store_model(ctx: WorkspaceContext, model: Any, result: AutoMLResult,
                 trial: TrialResult | None) -> tuple[str, str]:
    from slipway.core.model_dir import save_model_dir

    with ctx.artifacts.staging_dir() as staged:
        save_model_dir(staged / "model", model, result.signature,
                       trial.metrics if trial is not None else {})
        stored = ctx.artifacts.commit_dir(staged / "model")
    return stored.key, stored.sha256


def _finish(ctx: WorkspaceContext, parent: Run, settings: AutoMLSettings,
            result: AutoMLResult, *, canceled: bool) -> None:
    from slipway.automl.metrics import GREATER_IS_BETTER

    by_trial = {t.trial_id: t for t in result.trials}
    for trial in result.trials:
        if trial.model is not None:
            key, sha = _store_model(ctx, trial.model, result, trial)
            ctx.runs.update_run(child_id(parent.id, trial.trial_id), model_artifact=key,
                                model_sha256=sha)
    best_id = result.best_trial_id
    best = by_trial.get(best_id) if best_id is not None else None
    model_key = model_sha = None
    if result.best_model is not None:
        model_key, model_sha = _store_model(ctx, result.best_model, result, best)
    leaderboard = [{**row, "run_id": child_id(parent.id, int(row["trial_id"]))}
                   for row in result.leaderboard]
    metric = settings.primary_metric or ""
    props = {
        **ctx.runs.get_run(parent.id).properties,
        "guardrails": result.guardrails,
        "primary_metric": metric,
        "greater_is_better": GREATER_IS_BETTER.get(metric, True),
        "best_child_run_id": child_id(parent.id, best_id) if best_id is not None else None,
        "best_score": best.score if best is not None else None,
        "best_algorithm": best.algorithm if best is not None else None,
        "leaderboard": _json_safe(leaderboard),
        "explanation": _json_safe(result.explanation),
        "featurization": _json_safe(result.featurization),
        "signature": result.signature.to_dict() if result.signature is not None else None,
        "num_trials": len(result.trials),
    }
    status = RunStatus.CANCELED if canceled else RunStatus.COMPLETED
    if best is None and not canceled:
        status = RunStatus.FAILED
    ctx.runs.update_run(parent.id, status=status, properties=props, score=_finite(
        best.score if best is not None else None), model_artifact=model_key,
        model_sha256=model_sha, metrics=_json_safe(best.metrics) if best is not None else {},
        error=None if best is not None else "no trial completed; see `slipway runs leaderboard`",
        ended_at=datetime.now(UTC))
