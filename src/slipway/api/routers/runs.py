"""``/api/v1/experiments`` and ``/api/v1/runs``: submit AutoML runs, read them,
their children, leaderboard, metrics, explanation, log and fitted model, and
cancel them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, PlainTextResponse

from slipway.api.auth import requires, workspace
from slipway.api.routers import archives
from slipway.api.schemas import ArchiveFormat, Name, SubmitAutoMLRun
from slipway.services import automl
from slipway.services import models as model_service
from slipway.services import runs as service
from slipway.services.identities import Action
from slipway.services.workspace import WorkspaceContext

experiments = APIRouter(prefix="/experiments", tags=["runs"])
router = APIRouter(prefix="/runs", tags=["runs"])
Ctx = Annotated[WorkspaceContext, Depends(workspace)]
READ, WRITE = requires(Action.RUNS_READ), requires(Action.RUNS_WRITE)


@experiments.get("", dependencies=[READ], summary="Experiments and how many runs each has")
def list_experiments(ctx: Ctx) -> dict[str, Any]:
    return {"items": [e.to_dict() for e in service.list_experiments(ctx)]}


@router.post("", status_code=201, dependencies=[WRITE], summary="Submit an AutoML run")
def submit(body: SubmitAutoMLRun, ctx: Ctx) -> dict[str, Any]:
    """Queues the run and starts a worker for it; poll ``GET /runs/{run_id}``."""
    from slipway.automl import AutoMLSettings

    settings = AutoMLSettings(**body.automl.model_dump())
    run = automl.submit(ctx, body.experiment, body.dataset, settings,
                        dataset_version=body.dataset_version)
    return run.to_dict()


@router.get("", dependencies=[READ], summary="Top-level runs, newest first")
def list_runs(ctx: Ctx, experiment: Name | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    return {"items": [r.to_dict() for r in service.list_runs(ctx, experiment, limit)]}


@router.get("/{run_id}", dependencies=[READ], summary="A run")
def show(run_id: str, ctx: Ctx) -> dict[str, Any]:
    return service.get(ctx, run_id).to_dict()


@router.get("/{run_id}/children", dependencies=[READ], summary="A run's child runs (trials)")
def children(run_id: str, ctx: Ctx) -> dict[str, Any]:
    return {"items": [r.to_dict() for r in service.children(ctx, run_id)]}


@router.get("/{run_id}/leaderboard", dependencies=[READ],
            summary="Child runs by the primary metric, best first")
def leaderboard(run_id: str, ctx: Ctx) -> dict[str, Any]:
    return {"items": service.leaderboard(ctx, run_id)}


@router.get("/{run_id}/metrics", dependencies=[READ], summary="A run's metrics and chart data")
def metrics(run_id: str, ctx: Ctx) -> dict[str, Any]:
    run = service.get(ctx, run_id)
    _, charts = service.charts(ctx, run_id)
    return {"run_id": run.id, "algorithm": run.display_name, "metrics": run.metrics,
            "charts": charts}


@router.get("/{run_id}/explain", dependencies=[READ],
            summary="Importance of each input column for the best model")
def explain(run_id: str, ctx: Ctx) -> dict[str, Any]:
    run = service.get(ctx, run_id)
    props = run.properties
    return {"run_id": run.id, "primary_metric": props.get("primary_metric"),
            "algorithm": props.get("best_algorithm"), "items": props.get("explanation") or []}


@router.get("/{run_id}/logs", dependencies=[READ], response_class=PlainTextResponse,
            summary="The log of the run's worker (text)")
def logs(run_id: str, ctx: Ctx,
         tail: Annotated[int | None, Query(ge=1, le=100_000)] = None) -> PlainTextResponse:
    return PlainTextResponse(service.logs(ctx, run_id, tail))


@router.get("/{run_id}/model", dependencies=[READ], response_class=FileResponse,
            summary="The run's fitted model directory as a zip or tar.gz archive (hash checked)")
def model(run_id: str, ctx: Ctx, format: ArchiveFormat = ArchiveFormat.zip) -> FileResponse:
    """An AutoML run's is its best model refit on all rows. The
    ``X-Slipway-Model-Sha256`` header is the directory's hash, to check after unpacking."""
    run = service.get(ctx, run_id)
    source = model_service.run_model_path(ctx, run)
    return archives.send_folder(ctx, lambda _: source, format, f"{run.id}-model",
                                headers={model_service.MODEL_SHA256_HEADER: str(run.model_sha256)})


@router.post("/{run_id}/cancel", dependencies=[WRITE], summary="Cancel a queued or running run")
def cancel(run_id: str, ctx: Ctx) -> dict[str, Any]:
    return service.cancel(ctx, run_id).to_dict()
