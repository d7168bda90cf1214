"""``POST /oauth/token`` answers RFC 6749 JSON; ``/.well-known/jwks.json``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import jwt

from slipway.services import identities

from .conftest import Api, bearer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _sp(api: Api, name: str = "deployer", role: str = "contributor") -> tuple[str, str]:
    issued = identities.create_service_principal(api.ctx, name, role)
    assert issued.identity.client_id and issued.secret
    return issued.identity.client_id, issued.secret


def _rfc_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and isinstance(body["error_description"], str), body
    assert response.headers["cache-control"] == "no-store"
    return dict(body)


def test_client_credentials_in_the_form(api: Api) -> None:
    client_id, secret = _sp(api)
    response = api.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "expires_on"}
    assert body["token_type"] == "Bearer" and 3500 < body["expires_in"] <= 3600
    me = api.client.get("/api/v1/me", headers=bearer(body["access_token"])).json()
    assert me["name"] == "deployer" and me["kind"] == "service_principal"
    assert me["role"] == "contributor" and me["workspace_id"] == api.ctx.workspace_id


def test_client_credentials_by_http_basic(api: Api) -> None:
    client_id, secret = _sp(api)
    basic = base64.b64encode(f"{quote(client_id)}:{quote(secret)}".encode()).decode()
    response = api.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.text
    wrong = base64.b64encode(f"{client_id}:nope".encode()).decode()
    response = api.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": f"Basic {wrong}"})
    _rfc_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Basic realm="slipway"'
    both = api.client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                 "client_secret": secret},
                           headers={"Authorization": f"Basic {basic}"})
    _rfc_error(both, 400, "invalid_request")


def test_password_grant_and_refresh_rotation(api: Api) -> None:
    identities.add_user(api.ctx, "uma", "reader", "correct horse battery")
    response = api.client.post("/oauth/token", data={
        "grant_type": "password", "username": "uma", "password": "correct horse battery"})
    assert response.status_code == 200
    first = response.json()
    assert first["refresh_token"].startswith("swrt_")
    refreshed = api.client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first["refresh_token"]
    replay = api.client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    _rfc_error(replay, 400, "invalid_grant")
    again = api.client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]})
    _rfc_error(again, 400, "invalid_grant")  # the whole sign-in was revoked


def test_bad_token_requests(api: Api) -> None:
    _rfc_error(api.client.post("/oauth/token", data={"grant_type": "magic"}), 400,
               "unsupported_grant_type")
    _rfc_error(api.client.post("/oauth/token", data={}), 400, "invalid_request")
    body = _rfc_error(api.client.post("/oauth/token", data={"grant_type": "password",
                                                            "username": "uma"}),
                      400, "invalid_request")
    assert "'password'" in body["error_description"]
    _rfc_error(api.client.post("/oauth/token", json={"grant_type": "client_credentials"}), 400,
               "invalid_request")
    _rfc_error(api.client.post("/oauth/token", content=b"grant_type=password&grant_type=x",
                               headers=FORM), 400, "invalid_request")
    _rfc_error(api.client.post("/oauth/token", data={"grant_type": "password",
                                                     "username": "olive", "password": "nope"}),
               400, "invalid_grant")
    _rfc_error(api.client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers={"Authorization": "Basic !!!"}), 400, "invalid_request")


def test_repeated_failures_are_429_with_retry_after(api: Api) -> None:
    for _ in range(5):
        api.client.post("/oauth/token", data={"grant_type": "password", "username": "rita",
                                              "password": "wrong password"})
    response = api.client.post("/oauth/token", data={
        "grant_type": "password", "username": "rita", "password": "wrong password"})
    body = _rfc_error(response, 429, "too_many_attempts")
    assert int(response.headers["retry-after"]) == body["details"]["retry_after_s"] > 0


def test_jwks_verifies_the_issued_tokens(api: Api) -> None:
    client_id, secret = _sp(api)
    token = api.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret}).json()["access_token"]
    keys = api.client.get("/.well-known/jwks.json").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=api.ctx.workspace_id)
    assert claims["name"] == "deployer"


def test_a_new_secret_ends_old_tokens(api: Api) -> None:
    client_id, secret = _sp(api)
    token = api.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret}).json()["access_token"]
    assert api.client.get("/api/v1/runs", headers=bearer(token)).status_code == 200
    reset = api.client.post("/api/v1/identities/service-principals/deployer/reset-secret",
                            headers=api.as_("owner"))
    assert reset.status_code == 200 and reset.json()["secret"] != secret
    refused = api.client.get("/api/v1/runs", headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"


def test_sign_ins_beyond_the_hashing_slots_are_told_to_retry(api: Api, monkeypatch: Any) -> None:
    import threading

    client_id, secret = _sp(api)
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(identities, "HASH_SLOTS", slots)
    monkeypatch.setattr(identities, "HASH_WAIT_S", 0.05)
    slots.acquire()  # another sign-in is hashing
    try:
        busy = api.client.post("/oauth/token", data=form)
    finally:
        slots.release()
    body = _rfc_error(busy, 503, "temporarily_unavailable")
    assert busy.headers["retry-after"] == "5" and "retry" in body["hint"]
    # A busy server is not a failed sign-in: the next attempt goes through.
    assert api.client.post("/oauth/token", data=form).status_code == 200
    assert slots.acquire(blocking=False)  # the slot was given back
