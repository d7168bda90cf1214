"""Every route x every principal -> the expected status, decided in one place
(``api.auth.Guard``). Allowed principals get the route's real answer; the
others 403 (a role too low) or 401 (no token, expired, another workspace)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from slipway.api.app import API_PREFIX, API_ROUTERS
from slipway.api.auth import route_action
from slipway.services.identities import ACTIONS, ROLES

from .conftest import Api, toy_frame

# (method, route path) -> (concrete path, request kwargs, status for an allowed role).
# Destructive calls aim at names that do not exist (404): the guard let them through.
SAMPLES: dict[tuple[str, str], tuple[str, dict[str, Any], int]] = {
    ("POST", "/api/v1/datasets/upload"): ("/api/v1/datasets/upload", {"upload": True}, 200),
    ("POST", "/api/v1/datasets"): ("/api/v1/datasets", {"json": {
        "name": "bad name", "url": "http://127.0.0.1:9/x.csv"}}, 400),
    ("GET", "/api/v1/datasets"): ("/api/v1/datasets", {}, 200),
    ("GET", "/api/v1/datasets/{name}"): ("/api/v1/datasets/toy", {}, 200),
    ("GET", "/api/v1/datasets/{name}/versions"): ("/api/v1/datasets/toy/versions", {}, 200),
    ("GET", "/api/v1/datasets/{name}/preview"): ("/api/v1/datasets/toy/preview", {}, 200),
    ("GET", "/api/v1/datasets/{name}/data"): ("/api/v1/datasets/toy/data", {}, 200),
    ("GET", "/api/v1/datasets/{name}/consume"): ("/api/v1/datasets/toy/consume", {}, 200),
    ("POST", "/api/v1/datasets/{name}/unregister"): ("/api/v1/datasets/gone/unregister", {}, 404),
    ("POST", "/api/v1/datasets/{name}/restore"): ("/api/v1/datasets/toy/restore", {}, 200),
    ("GET", "/api/v1/experiments"): ("/api/v1/experiments", {}, 200),
    ("POST", "/api/v1/runs"): ("/api/v1/runs", {"json": {
        "dataset": "gone", "automl": {"target": "y"}}}, 404),
    ("GET", "/api/v1/runs"): ("/api/v1/runs", {}, 200),
    ("GET", "/api/v1/runs/{run_id}"): ("/api/v1/runs/AutoML_p", {}, 200),
    ("GET", "/api/v1/runs/{run_id}/children"): ("/api/v1/runs/AutoML_p/children", {}, 200),
    ("GET", "/api/v1/runs/{run_id}/leaderboard"): ("/api/v1/runs/AutoML_p/leaderboard", {}, 200),
    ("GET", "/api/v1/runs/{run_id}/metrics"): ("/api/v1/runs/AutoML_p_0/metrics", {}, 200),
    ("GET", "/api/v1/runs/{run_id}/explain"): ("/api/v1/runs/AutoML_p/explain", {}, 200),
    ("GET", "/api/v1/runs/{run_id}/logs"): ("/api/v1/runs/AutoML_p/logs", {}, 200),
    ("GET", "/api/v1/runs/{run_id}/model"): ("/api/v1/runs/AutoML_p/model", {}, 200),
    ("POST", "/api/v1/runs/{run_id}/cancel"): ("/api/v1/runs/AutoML_p/cancel", {}, 200),
    ("POST", "/api/v1/models"): ("/api/v1/models", {"json": {
        "run_id": "AutoML_p", "name": "toy-model"}}, 201),
    ("GET", "/api/v1/models"): ("/api/v1/models", {}, 200),
    ("GET", "/api/v1/models/{name}"): ("/api/v1/models/toy-model", {}, 200),
    ("GET", "/api/v1/models/{name}/versions"): ("/api/v1/models/toy-model/versions", {}, 200),
    ("GET", "/api/v1/models/{name}/versions/{version}"): (
        "/api/v1/models/toy-model/versions/1", {}, 200),
    ("PATCH", "/api/v1/models/{name}/versions/{version}"): (
        "/api/v1/models/toy-model/versions/1", {"json": {"tags": {"stage": "dev"}}}, 200),
    ("GET", "/api/v1/models/{name}/download"): ("/api/v1/models/toy-model/download", {}, 200),
    ("GET", "/api/v1/models/{name}/mlflow"): ("/api/v1/models/gone/mlflow", {}, 404),
    ("POST", "/api/v1/endpoints"): ("/api/v1/endpoints", {"json": {
        "name": "new-ep", "model": "gone:1"}}, 404),
    ("GET", "/api/v1/endpoints"): ("/api/v1/endpoints", {}, 200),
    ("POST", "/api/v1/endpoints/start-all"): ("/api/v1/endpoints/start-all", {}, 200),
    ("GET", "/api/v1/endpoints/{name}"): ("/api/v1/endpoints/ep", {}, 200),
    ("PATCH", "/api/v1/endpoints/{name}"): ("/api/v1/endpoints/ep", {"json": {
        "monitoring": True}}, 200),
    ("DELETE", "/api/v1/endpoints/{name}"): ("/api/v1/endpoints/gone", {}, 404),
    ("POST", "/api/v1/endpoints/{name}/start"): ("/api/v1/endpoints/gone/start", {}, 404),
    ("POST", "/api/v1/endpoints/{name}/stop"): ("/api/v1/endpoints/ep/stop", {}, 200),
    ("GET", "/api/v1/endpoints/{name}/keys"): ("/api/v1/endpoints/ep/keys", {}, 200),
    ("POST", "/api/v1/endpoints/{name}/regen-key"): ("/api/v1/endpoints/ep/regen-key", {
        "json": {"key": "secondary"}}, 200),
    ("POST", "/api/v1/endpoints/{name}/token"): ("/api/v1/endpoints/ep/token", {}, 400),
    ("GET", "/api/v1/endpoints/{name}/logs"): ("/api/v1/endpoints/ep/logs", {}, 200),
    ("GET", "/api/v1/endpoints/{name}/metrics"): ("/api/v1/endpoints/ep/metrics", {}, 200),
    ("GET", "/api/v1/identities"): ("/api/v1/identities", {}, 200),
    ("POST", "/api/v1/identities/service-principals"): (
        "/api/v1/identities/service-principals", {"json": {"name": "matrix-sp"}}, 201),
    ("POST", "/api/v1/identities/users"): ("/api/v1/identities/users", {"json": {
        "name": "matrix-user"}}, 201),
    ("GET", "/api/v1/identities/{kind}/{name}"): ("/api/v1/identities/users/rita", {}, 200),
    ("POST", "/api/v1/identities/service-principals/{name}/reset-secret"): (
        "/api/v1/identities/service-principals/gone/reset-secret", {}, 404),
    ("POST", "/api/v1/identities/users/{name}/reset-password"): (
        "/api/v1/identities/users/gone/reset-password", {"json": {}}, 404),
    ("POST", "/api/v1/identities/{kind}/{name}/set-role"): (
        "/api/v1/identities/users/gone/set-role", {"json": {"role": "reader"}}, 404),
    ("POST", "/api/v1/identities/{kind}/{name}/revoke-tokens"): (
        "/api/v1/identities/users/gone/revoke-tokens", {}, 404),
    ("DELETE", "/api/v1/identities/{kind}/{name}"): ("/api/v1/identities/users/gone", {}, 404),
    ("GET", "/api/v1/me"): ("/api/v1/me", {}, 200),
    # Checked before the password: the body is refused for every role that may call it.
    ("POST", "/api/v1/me/password"): ("/api/v1/me/password", {"json": {}}, 422),
    ("POST", "/api/v1/workspace/rotate-signing-key"): (
        "/api/v1/workspace/rotate-signing-key", {}, 200),
}

RANK = {"reader": 0, "contributor": 1, "owner": 2}
UNAUTHENTICATED = {"none": "missing_token", "expired": "token_expired",
                   "foreign": "wrong_workspace"}


def _guarded_routes(api: Api) -> dict[tuple[str, str], Any]:
    out = {}
    for router in API_ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in route.methods or ():
                out[(method, API_PREFIX + route.path)] = route_action(route)
    return out


def test_every_api_route_is_guarded_and_sampled(api: Api) -> None:
    routes = _guarded_routes(api)
    unguarded = sorted(key for key, action in routes.items() if action is None)
    assert unguarded == [], f"routes without requires(Action...): {unguarded}"
    assert set(routes) == set(SAMPLES), "add new routes to SAMPLES"
    published = {(method.upper(), path)
                 for path, item in api.client.get("/openapi.json").json()["paths"].items()
                 if path.startswith("/api/") for method in item}
    assert published == set(SAMPLES), "a route under /api/ is mounted outside API_ROUTERS"


def _call(api: Api, method: str, path: str, kwargs: dict[str, Any],
          headers: dict[str, str]) -> Any:
    if kwargs.get("upload"):
        body = toy_frame().to_csv(index=False).encode()
        return api.client.post(path, headers=headers, data={"name": "toy"},
                               files={"file": ("toy.csv", body, "text/csv")})
    return api.client.request(method, path, headers=headers, **kwargs)


def test_role_matrix(api: Api) -> None:
    routes = _guarded_routes(api)
    failures = []
    for key, (path, kwargs, allowed_status) in SAMPLES.items():
        method = key[0]
        needed = ACTIONS[routes[key]][0]
        for who in (*ROLES, *UNAUTHENTICATED):
            response = _call(api, method, path, kwargs, api.as_(who))
            if who in UNAUTHENTICATED:
                expected, code = 401, UNAUTHENTICATED[who]
            elif RANK[who] >= RANK[needed]:
                expected, code = allowed_status, None
            else:
                expected, code = 403, "forbidden"
            got_code = (response.json().get("error") or {}).get("code") \
                if response.headers.get("content-type", "").startswith("application/json") \
                and response.status_code >= 400 else None
            if response.status_code != expected or (code and got_code != code):
                failures.append(f"{method} {path} as {who}: {response.status_code} "
                                f"{got_code} (expected {expected} {code or ''})")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("who", ["none", "expired", "foreign"])
def test_refusals_say_how_to_authenticate(api: Api, who: str) -> None:
    response = api.client.get("/api/v1/runs", headers=api.as_(who))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="slipway"')
    assert response.json()["error"]["hint"]


def test_a_reader_is_told_which_role_is_needed(api: Api) -> None:
    response = api.client.post("/api/v1/runs/AutoML_p/cancel", headers=api.as_("reader"))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["details"] == {"action": "runs.write", "role": "reader", "needs": "contributor"}
    assert "slipway users set-role rita" in error["hint"]
