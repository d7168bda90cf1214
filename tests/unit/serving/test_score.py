"""POST /score, the service request shape, health, swagger, docs, CORS and the request log."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pandas as pd

from slipway.core.model_dir import read_signature
from slipway.serving.requestlog import read_log

from .conftest import AppClient, MakeClient


def example(model_dir: Path) -> list[dict]:
    return read_signature(model_dir).example


def test_score_answers_labels_like_the_pipeline(client: AppClient, bank: pd.DataFrame) -> None:
    rows = bank.drop(columns=["y"]).head(50)
    response = client.post("/score", json={"data": rows.to_dict(orient="records")})
    assert response.status_code == 200, response.text
    expected = client.app.model.pipeline.predict(rows).tolist()
    assert response.json() == {"result": expected}
    assert response.headers["x-request-id"]


def test_service_shape_answers_probabilities_per_class(client: AppClient,
                                                       bank_model_dir: Path) -> None:
    body = {"Inputs": {"data": example(bank_model_dir)},
            "GlobalParameters": {"method": "predict_proba"}}
    response = client.post("/score", json=body)
    assert response.status_code == 200, response.text
    results = response.json()["Results"]
    assert len(results) == 2
    for row in results:
        assert set(row) == {"no", "yes"}
        assert abs(sum(row.values()) - 1.0) < 1e-9


def test_service_shape_defaults_to_labels(client: AppClient, bank_model_dir: Path) -> None:
    response = client.post("/score", json={"Inputs": {"data": example(bank_model_dir)}})
    assert response.status_code == 200
    assert all(v in ("no", "yes") for v in response.json()["Results"])


def test_regression_answers_numbers(make_client: MakeClient, regression_model_dir: Path) -> None:
    client = make_client(regression_model_dir)
    response = client.post("/score", json={"data": example(regression_model_dir)})
    assert response.status_code == 200, response.text
    assert all(isinstance(v, float) for v in response.json()["result"])
    proba = client.post("/score", json={"Inputs": {"data": example(regression_model_dir)},
                                        "GlobalParameters": {"method": "predict_proba"}})
    assert proba.status_code == 400
    assert proba.json()["error"]["code"] == "invalid_method"


def test_health_and_ready(client: AppClient) -> None:
    for path in ("/", "/v2/health/ready", "/v2/health/live"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json()["status"] == "Healthy"


def test_swagger_is_built_from_the_signature(make_client: MakeClient,
                                             bank_model_dir: Path) -> None:
    client = make_client(auth="key")
    response = client.get("/swagger.json")
    assert response.status_code == 200
    doc = response.json()
    record = doc["components"]["schemas"]["ScoringRecord"]
    sig = read_signature(bank_model_dir)
    assert list(record["properties"]) == sig.input_names
    assert record["properties"]["age"]["type"] == "number"
    assert record["properties"]["job"]["type"] == "string"
    assert doc["components"]["schemas"]["ScoringRequest"]["example"] == {"data": sig.example}
    assert doc["components"]["securitySchemes"]["key"]["scheme"] == "bearer"
    assert doc["paths"]["/score"]["post"]["responses"]["400"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/Error"}
    assert response.headers["access-control-allow-origin"] == "*"


def test_docs_page_and_assets_are_served_locally(client: AppClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.split("<body>")[1]  # no CDN
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        asset = client.get(f"/swagger-ui/{name}")
        assert asset.status_code == 200
        assert len(asset.content) > 1000
    assert client.get("/swagger-ui/../../etc/passwd").status_code == 404


def test_cors_preflight(client: AppClient) -> None:
    response = client.request("OPTIONS", "/score", headers={
        "origin": "http://localhost:8080", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "authorization" in response.headers["access-control-allow-headers"]


def test_request_id_is_echoed_or_made(client: AppClient, bank_model_dir: Path) -> None:
    mine = client.post("/score", json={"data": example(bank_model_dir)},
                       headers={"x-request-id": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    bad = client.get("/", headers={"x-request-id": "bad id with spaces"})
    assert bad.headers["x-request-id"] != "bad id with spaces"


def test_one_log_line_per_request(client: AppClient, bank_model_dir: Path) -> None:
    client.post("/score", json={"data": example(bank_model_dir)}, headers={"x-request-id": "r1"})
    client.post("/score", content=b"not json", headers={"x-request-id": "r2"})
    client.get("/", headers={"x-request-id": "r3"})
    log_path = client.app.request_log.path
    records = {r["request_id"]: r for r in read_log(log_path)}
    ok, bad = records["r1"], records["r2"]
    assert ok["status"] == 200 and ok["rows"] == 2 and ok["path"] == "/score"
    assert ok["client"] == "10.0.0.7:4321"
    assert ok["latency_ms"] >= 0 and ok["time"].endswith("Z")
    assert bad["status"] == 400 and bad["error"] == "invalid_json"
    assert records["r3"]["status"] == 200
    for line in log_path.read_bytes().splitlines():
        assert set(orjson.loads(line)) >= {"time", "request_id", "status", "latency_ms", "rows",
                                           "client"}


def test_unknown_route_and_method(client: AppClient) -> None:
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.get("/score")
    assert wrong.status_code == 405
    assert set(wrong.json()) == {"error"}


def test_error_envelope_shape_is_pinned(client: AppClient) -> None:
    body = client.post("/score", content=b"{").json()
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "hint"}
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    json.dumps(body)
