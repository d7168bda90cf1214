"""Bad input to every route: never a 500, always the error envelope."""

from __future__ import annotations

import re
from typing import Any

from .conftest import Api
from .test_role_matrix import SAMPLES

WEIRD_SEGMENTS = ["..", "%2e%2e%2f..", "%00", "a%0Ab", "x" * 300, "%E5%90%8D%E5%89%8D", "%20",
                  "-1", "0", "99999999999999999999", "toy:1", "@"]
WEIRD_BODIES: list[dict[str, Any]] = [
    {"content": b"\xff\xfe not json", "headers": {"Content-Type": "application/json"}},
    {"json": []}, {"json": None}, {"json": "text"}, {"json": 12},
    {"json": {"name": "x\u0000y", "run_id": "\u0000", "model": "\u0000", "role": "\u0000",
              "key": "\u0000", "dataset": "\u0000", "url": "http://\u0000",
              "automl": {"target": "\u0000"}, "tags": {"\u0000": "\u0000"}}},
    {"json": {"name": {"$gt": ""}, "run_id": ["a"], "model": 1e308, "tags": "x",
              "automl": {"target": "y", "timeout_s": "NaN", "concurrency": 10**30}}},
    {"json": {"description": "x" * 10_000, "name": "ok"}},
    {"content": b"{" * 5000, "headers": {"Content-Type": "application/json"}},
    {"content": b"name=a&file=b", "headers": {
        "Content-Type": "application/x-www-form-urlencoded"}},
    {"content": b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n",
     "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
    {"content": b"garbage", "headers": {"Content-Type": "multipart/form-data"}},
]
WEIRD_QUERIES = ["?version=abc", "?version=-1", "?version=99999999999999999999", "?rows=0",
                 "?rows=1000000", "?limit=-5", "?tail=0", "?since=-1", "?minutes=0",
                 "?format=rar", "?include_archived=maybe", "?experiment=%00", "?kind=robots",
                 "?wait=sometimes&timeout_s=-1"]


def _assert_clean(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), what


def test_no_route_answers_500_to_bad_input(api: Api) -> None:
    h = api.as_("owner")
    for (method, template), (path, _, _) in SAMPLES.items():
        params = re.findall(r"\{(\w+)\}", template)
        for segment in WEIRD_SEGMENTS:
            bad = template
            for param in params:
                bad = bad.replace("{" + param + "}", segment)
            if params:
                _assert_clean(api.client.request(method, bad, headers=h), f"{method} {bad}")
        for query in WEIRD_QUERIES:
            _assert_clean(api.client.request(method, path + query, headers=h),
                          f"{method} {path}{query}")
        if method in ("POST", "PATCH"):
            for body in WEIRD_BODIES:
                kwargs = {**body, "headers": {**h, **body.get("headers", {})}}
                _assert_clean(api.client.request(method, path, **kwargs),
                              f"{method} {path} {str(body)[:80]}")


def test_token_endpoint_survives_bad_input(api: Api) -> None:
    for body in WEIRD_BODIES:
        response = api.client.post("/oauth/token", **body)
        assert response.status_code < 500, response.text
        assert set(response.json()) >= {"error", "error_description"}
    for form in ({"grant_type": "client_credentials", "client_id": "\u0000",
                  "client_secret": "x"},
                 {"grant_type": "password", "username": "x" * 5000, "password": "y" * 5000},
                 {"grant_type": "refresh_token", "refresh_token": "\u00e9" * 100}):
        response = api.client.post("/oauth/token", data=form)
        assert 400 <= response.status_code < 500, response.text


def test_garbage_tokens_are_401(api: Api) -> None:
    for header in ("Bearer", "Bearer a.b.c", "Bearer " + "x" * 10_000, "Basic abc", "bearer  ",
                   "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
        response = api.client.get("/api/v1/runs", headers={"Authorization": header})
        assert response.status_code == 401, (header, response.text)
