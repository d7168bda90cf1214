"""The API in-process (httpx over ``ASGITransport``, driven from a blocking
portal so tests stay synchronous): an app on a fresh
workspace (every configured backend), cheap argon2, one principal per role,
and the resources every route can be pointed at."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pandas as pd
import pytest
from fastapi import FastAPI
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from slipway.api import create_app
from slipway.core.entities import EndpointState, RunStatus
from slipway.core.model_dir import infer_signature, save_model_dir
from slipway.services import datasets, identities, tokens
from slipway.services.identities import HASH_COST_SETTING
from slipway.services.workspace import WorkspaceContext
from slipway.settings import Settings


def make_settings(path: Path, **changes: Any) -> Settings:
    settings = Settings.from_env(workspace=path)
    return replace(settings, extra={HASH_COST_SETTING: "fast"}, **changes)


def toy_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "c": ["a", "b", "a", "b"] * 5,
                         "y": ["no", "no", "yes", "yes"] * 5})


class Client:
    """A synchronous httpx client whose transport calls the app in-process."""

    def __init__(self, app: FastAPI, stack: ExitStack) -> None:
        self.portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://testserver")
        stack.callback(self.portal.call, self.http.aclose)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = self.portal.call(
            partial(self.http.request, method, url, **kwargs))
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class Api:
    app: FastAPI
    client: Client
    ctx: WorkspaceContext
    headers: dict[str, dict[str, str]]  # principal label -> Authorization header

    def as_(self, who: str) -> dict[str, str]:
        return self.headers[who]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(ctx: WorkspaceContext, name: str, role: str, kind: str = "sp") -> str:
    if kind == "sp":
        issued = identities.create_service_principal(ctx, name, role)
        assert issued.identity.client_id and issued.secret
        return tokens.client_credentials_grant(ctx, issued.identity.client_id,
                                               issued.secret).access_token
    password = f"pw-{uuid.uuid4().hex}"
    identities.add_user(ctx, name, role, password)
    return tokens.password_grant(ctx, name, password).access_token


def expired_token(ctx: WorkspaceContext, name: str) -> str:
    identity = ctx.identities.find_by_name(name)
    assert identity is not None
    past = datetime.now(UTC) - timedelta(hours=2)
    return ctx.secrets.sign({
        "iss": tokens.issuer(ctx), "aud": ctx.workspace_id, "sub": identity.uid,
        "name": identity.name, "kind": identity.kind, "role": identity.role,
        "iat": int(past.timestamp()), "exp": int((past + timedelta(hours=1)).timestamp()),
        "jti": uuid.uuid4().hex, "gen": identity.token_generation})


def store_model(ctx: WorkspaceContext) -> tuple[str, str]:
    frame = toy_frame()
    X = frame[["x", "c"]]
    pipe = Pipeline([("prep", ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"),
                                                   ["c"])], remainder="passthrough")),
                     ("clf", LogisticRegression())]).fit(X, frame["y"])
    sig = infer_signature(X, task="classification", target="y",
                          column_types={"x": "numeric", "c": "categorical"},
                          classes=list(pipe.classes_))
    with ctx.artifacts.staging_dir() as staged:
        save_model_dir(staged / "m", pipe, sig, {"AUC_weighted": 0.9})
        stored = ctx.artifacts.commit_dir(staged / "m")
    return stored.key, stored.sha256


def seed_resources(ctx: WorkspaceContext, folder: Path) -> None:
    """Dataset ``toy``, a completed AutoML run ``AutoML_p`` (children 0 and 1),
    model ``toy-model:1`` and a stopped key-auth endpoint ``ep``."""
    from slipway.serving.config import EndpointConfig, write_endpoint_config, write_keys

    csv = folder / "toy.csv"
    toy_frame().to_csv(csv, index=False)
    datasets.register(ctx, "toy", csv)
    key, sha = store_model(ctx)
    ctx.runs.create_run("AutoML_p", experiment="e", kind="automl", status=RunStatus.COMPLETED,
                        settings={"dataset": "toy", "dataset_version": 1})
    for trial in (0, 1):
        ctx.runs.create_run(f"AutoML_p_{trial}", experiment="e", kind="trial",
                            status=RunStatus.COMPLETED, display_name=f"algo{trial}",
                            parent_id="AutoML_p")
        model: dict[str, Any] = {"model_artifact": key, "model_sha256": sha} if trial == 0 else {}
        ctx.runs.update_run(f"AutoML_p_{trial}", metrics={"AUC_weighted": 0.9 - trial / 10},
                            score=0.9 - trial / 10, **model)
    ctx.runs.update_run("AutoML_p", model_artifact=key, model_sha256=sha,
                        properties={"best_child_run_id": "AutoML_p_0", "primary_metric":
                                    "AUC_weighted", "best_algorithm": "algo0",
                                    "explanation": [{"column": "x", "importance": 0.3}]})
    from slipway.services import models

    models.register(ctx, "AutoML_p", "toy-model")
    ctx.endpoints.create(
        "ep", model_name="toy-model", model_version=1, state=EndpointState.STOPPED,
        desired_running=False, auth_mode="key", host="127.0.0.1", port=18999, workers=1,
        monitoring=False, primary_key=ctx.secrets.encrypt("primary-key-1"),
        secondary_key=ctx.secrets.encrypt("secondary-key-1"))
    config_dir = ctx.settings.workspace / "endpoints" / "ep" / "config"
    write_endpoint_config(config_dir, EndpointConfig(name="ep", auth="key"))
    write_keys(config_dir, primary="primary-key-1", secondary="secondary-key-1")


@pytest.fixture
def make_api(ws_path: Path, tmp_path: Path) -> Iterator[Any]:
    with ExitStack() as stack:

        def make(path: Path = ws_path, **changes: Any) -> tuple[FastAPI, Client]:
            app = create_app(make_settings(path, **changes))
            stack.callback(app.state.slipway.close)
            return app, Client(app, stack)

        yield make


@pytest.fixture
def api(make_api: Any, tmp_path: Path) -> Api:
    """Principals: owner (user), contributor (service principal), reader (user),
    plus ``expired`` (the owner's token, expired) and ``foreign`` (an owner of
    another workspace)."""
    app, client = make_api()
    ctx: WorkspaceContext = app.state.slipway.ctx
    seed_resources(ctx, tmp_path)
    headers = {"owner": bearer(sign_in(ctx, "olive", "owner", kind="user")),
               "contributor": bearer(sign_in(ctx, "ci-bot", "contributor")),
               "reader": bearer(sign_in(ctx, "rita", "reader", kind="user")),
               "none": {}}
    headers["expired"] = bearer(expired_token(ctx, "olive"))
    other, _ = make_api(tmp_path / "other-ws", database_url=f"sqlite:///{tmp_path / 'other.db'}")
    headers["foreign"] = bearer(sign_in(other.state.slipway.ctx, "olive", "owner", kind="user"))
    return Api(app=app, client=client, ctx=ctx, headers=headers)
