"""The one error envelope, pinned: every JSON error is
``{"error": {"code", "message", "hint"?, "details"?}}`` from one handler."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from slipway.core.errors import SlipwayError

from .conftest import Api

ENVELOPE_KEYS = {"code", "message", "hint", "details"}


def _error(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= ENVELOPE_KEYS
    return dict(body["error"])


def test_not_found_names_the_missing_resource(api: Api) -> None:
    response = api.client.get("/api/v1/datasets/nope", headers=api.as_("reader"))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "dataset_not_found",
                                         "message": "dataset 'nope' does not exist",
                                         "hint": "see `slipway datasets list`"}}
    for path, code, name in (("/api/v1/runs/r-1", "run_not_found", "r-1"),
                             ("/api/v1/models/m-1", "model_not_found", "m-1"),
                             ("/api/v1/endpoints/e-1", "endpoint_not_found", "e-1"),
                             ("/api/v1/models/toy-model/versions/9", "model_version_not_found",
                              "9")):
        error = _error(api.client.get(path, headers=api.as_("owner")))
        assert error["code"] == code and name in error["message"], error


def test_unknown_fields_are_refused_naming_the_field(api: Api) -> None:
    response = api.client.post("/api/v1/models", headers=api.as_("owner"),
                               json={"run_id": "AutoML_p", "name": "m", "colour": "red"})
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_failed"
    assert error["message"].startswith("body.colour: Extra inputs are not permitted")
    assert error["details"]["errors"][0] == {"field": "body.colour", "type": "extra_forbidden",
                                             "message": "Extra inputs are not permitted"}


def test_missing_and_mistyped_fields(api: Api) -> None:
    response = api.client.post("/api/v1/runs", headers=api.as_("owner"),
                               json={"dataset": "toy", "automl": {"target": "y",
                                                                  "concurrency": "many"}})
    error = _error(response)
    assert response.status_code == 422 and error["message"].startswith("body.automl.concurrency")
    response = api.client.get("/api/v1/runs?limit=abc", headers=api.as_("owner"))
    assert _error(response)["details"]["errors"][0]["field"] == "query.limit"


def test_invalid_json_is_400(api: Api) -> None:
    response = api.client.post("/api/v1/models", headers={**api.as_("owner"),
                                                         "Content-Type": "application/json"},
                               content=b'{"run_id": ')
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"


def test_service_errors_keep_their_status_and_hint(api: Api) -> None:
    response = api.client.post("/api/v1/runs", headers=api.as_("owner"),
                               json={"dataset": "toy", "automl": {"target": "nope"}})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_input" and "target column 'nope'" in error["message"]
    assert error["hint"] == "columns: x, c, y"
    response = api.client.post("/api/v1/identities/users", headers=api.as_("owner"),
                               json={"name": "rita"})
    assert response.status_code == 409


def test_unknown_route_and_method(api: Api) -> None:
    response = api.client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert _error(response) == {"code": "route_not_found", "message": "no route GET /api/v1/nothing",
                                "hint": "GET /openapi.json lists the routes"}
    response = api.client.request("PUT", "/api/v1/runs")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert response.headers["allow"]  # Starlette names the first matching route's methods


def test_body_size_limit_is_413(make_api: Any, tmp_path: Any) -> None:
    _, client = make_api(tmp_path / "small", max_request_bytes=100)
    response = client.post("/api/v1/models", json={"run_id": "x" * 200, "name": "m"})
    assert response.status_code == 413
    assert _error(response)["details"] == {"limit_bytes": 100}

    async def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"x" * 50

    response = client.post("/oauth/token", content=chunks(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_unexpected_errors_are_500_with_the_request_id_logged(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    @api.app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @api.app.get("/typed")
    def typed() -> None:
        raise SlipwayError("plain base error")

    with caplog.at_level(logging.ERROR, logger="slipway.api"):
        response = api.client.get("/boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    error = _error(response)
    assert error["code"] == "internal_error" and "secret" not in error["message"]
    assert error["details"] == {"request_id": "req-42"}
    assert response.headers["x-request-id"] == "req-42"
    assert "req-42" in caplog.text and "RuntimeError: secret internals" in caplog.text
    assert api.client.get("/typed").status_code == 500
    assert _error(api.client.get("/typed"))["code"] == "error"


def test_every_answer_has_a_request_id(api: Api) -> None:
    first = api.client.get("/healthz").headers["x-request-id"]
    second = api.client.get("/healthz").headers["x-request-id"]
    assert first != second and len(first) == 32
    forged = api.client.get("/healthz", headers={"X-Request-ID": "bad id;x"})
    assert forged.headers["x-request-id"] != "bad id;x"
