"""Every kind of bad input answers 4xx in the one error shape, and the worker keeps serving."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from slipway.core.model_dir import read_signature

from .conftest import AppClient, MakeClient


def rows(model_dir: Path) -> list[dict[str, Any]]:
    return [dict(r) for r in read_signature(model_dir).example]


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(("body", "code"), [
    (b"this is not json", "invalid_json"),
    (b"", "invalid_json"),
    (b"[1, 2, 3]", "invalid_body"),
    (b'"just a string"', "invalid_body"),
    (b'{"rows": []}', "missing_data"),
    (b'{"data": []}', "empty_data"),
    (b'{"data": {"age": 1}}', "invalid_data"),
    (b'{"data": [1, 2]}', "invalid_data"),
    (b'{"Inputs": {"data": [{}]}, "GlobalParameters": {"method": "explain"}}', "invalid_body"),
])
def test_malformed_bodies(client: AppClient, body: bytes, code: str) -> None:
    err = error(client.post("/score", content=body), 400, code)
    assert err.get("hint")
    assert client.get("/").status_code == 200  # the worker is alive


def test_missing_column_is_named(client: AppClient, bank_model_dir: Path) -> None:
    data = rows(bank_model_dir)
    del data[1]["age"]
    err = error(client.post("/score", json={"data": data}), 400, "missing_column")
    assert "'age'" in err["message"] and "row 1" in err["message"]


@pytest.mark.parametrize(("column", "value"), [
    ("age", "forty"), ("age", [1]), ("age", {"x": 1}), ("job", [1, 2]), ("job", {"a": "b"}),
])
def test_wrong_type_names_row_and_column(client: AppClient, bank_model_dir: Path, column: str,
                                         value: Any) -> None:
    data = rows(bank_model_dir)
    data[1][column] = value
    err = error(client.post("/score", json={"data": data}), 400, "invalid_type")
    assert "row 1" in err["message"] and repr(column) in err["message"]


def test_infinite_number_is_refused(client: AppClient, bank_model_dir: Path) -> None:
    data = rows(bank_model_dir)
    data[0]["duration"] = math.inf
    import json

    err = error(client.post("/score", content=json.dumps({"data": data}).encode()), 400,
                "invalid_value")
    assert "'duration'" in err["message"]


def test_unseen_categories_are_scored(client: AppClient, bank_model_dir: Path) -> None:
    data = rows(bank_model_dir)
    data[0]["job"] = "astronaut"
    data[1]["month"] = "smarch"
    response = client.post("/score", json={"data": data})
    assert response.status_code == 200
    assert len(response.json()["result"]) == 2


def test_extra_columns_are_ignored(client: AppClient, bank_model_dir: Path) -> None:
    plain = client.post("/score", json={"Inputs": {"data": rows(bank_model_dir)},
                                        "GlobalParameters": {"method": "predict_proba"}})
    data = [{**r, "customer_id": 7, "notes": {"a": 1}} for r in rows(bank_model_dir)]
    extra = client.post("/score", json={"Inputs": {"data": data},
                                        "GlobalParameters": {"method": "predict_proba"}})
    assert extra.status_code == 200
    assert extra.json() == plain.json()


def test_numbers_as_strings_and_numbers_for_categories_are_coerced(client: AppClient,
                                                                   bank_model_dir: Path) -> None:
    data = rows(bank_model_dir)
    data[0]["age"] = str(data[0]["age"])
    data[1]["job"] = 12
    assert client.post("/score", json={"data": data}).status_code == 200


def test_nulls_are_scored_where_the_model_allows_them(client: AppClient,
                                                      bank_model_dir: Path) -> None:
    data = rows(bank_model_dir)
    data[0]["age"] = None
    data[0]["job"] = None
    data[1]["euribor3m"] = None
    response = client.post("/score", json={"data": data})
    assert response.status_code == 200, response.text
    # NaN literals, as Python's json module writes them, are read as null
    import json

    nan_body = json.dumps({"data": [{**rows(bank_model_dir)[0], "age": float("nan")}]})
    assert client.post("/score", content=nan_body.encode()).status_code == 200


def test_nulls_are_refused_where_the_model_cannot_score_them(make_client: MakeClient,
                                                             strict_model_dir: Path) -> None:
    client = make_client(strict_model_dir)
    assert client.app.model.schema.allows_null["age"] is False
    data = rows(strict_model_dir)
    data[1]["age"] = None
    err = error(client.post("/score", json={"data": data}), 400, "missing_value")
    assert "row 1" in err["message"] and "'age'" in err["message"]
    ok = rows(strict_model_dir)
    assert client.post("/score", json={"data": ok}).status_code == 200


def test_100k_rows_are_answered(client: AppClient, bank_model_dir: Path) -> None:
    data = rows(bank_model_dir) * 50_000
    response = client.post("/score", json={"data": data})
    assert response.status_code == 200
    assert len(response.json()["result"]) == 100_000


def test_rows_above_the_limit_get_413(make_client: MakeClient, bank_model_dir: Path) -> None:
    client = make_client(max_rows=10)
    err = error(client.post("/score", json={"data": rows(bank_model_dir) * 6}), 413,
                "payload_too_large")
    assert "10" in err["message"]
    assert client.post("/score", json={"data": rows(bank_model_dir) * 5}).status_code == 200


def test_bodies_above_the_limit_get_413(make_client: MakeClient, bank_model_dir: Path) -> None:
    client = make_client(max_body_bytes=2000)
    error(client.post("/score", json={"data": rows(bank_model_dir) * 20}), 413,
          "payload_too_large")


def test_v2_errors_use_the_same_shape(client: AppClient) -> None:
    error(client.post("/v2/models/bank-endpoint/infer", json={"inputs": "x"}), 400, "invalid_body")
    error(client.post("/v2/models/other/infer", json={"inputs": []}), 404, "not_found")
