"""Runs, models, endpoints and identities over HTTP: the handlers return the
entities' ``to_dict()`` shapes the SDK and CLI use."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slipway.core.entities import EndpointState, RunStatus

from .conftest import Api, bearer


def test_runs_read_routes(api: Api) -> None:
    h = api.as_("reader")
    runs = api.client.get("/api/v1/runs", headers=h).json()["items"]
    assert [r["run_id"] for r in runs] == ["AutoML_p"]
    assert api.ctx.runs.get_run("AutoML_p").to_dict() == runs[0]
    assert api.client.get("/api/v1/runs?experiment=nope", headers=h).json() == {"items": []}
    children = api.client.get("/api/v1/runs/AutoML_p/children", headers=h).json()["items"]
    assert {c["run_id"] for c in children} == {"AutoML_p_0", "AutoML_p_1"}
    board = api.client.get("/api/v1/runs/AutoML_p/leaderboard", headers=h).json()["items"]
    assert [row["run_id"] for row in board] == ["AutoML_p_0", "AutoML_p_1"]
    metrics = api.client.get("/api/v1/runs/AutoML_p_0/metrics", headers=h).json()
    assert metrics == {"run_id": "AutoML_p_0", "algorithm": "algo0",
                       "metrics": {"AUC_weighted": 0.9}, "charts": {}}
    explain = api.client.get("/api/v1/runs/AutoML_p/explain", headers=h).json()
    assert explain["items"] == [{"column": "x", "importance": 0.3}]
    logs = api.client.get("/api/v1/runs/AutoML_p/logs", headers=h)
    assert logs.status_code == 200 and logs.headers["content-type"].startswith("text/plain")
    experiments = api.client.get("/api/v1/experiments", headers=h).json()["items"]
    assert [(e["name"], e["num_runs"]) for e in experiments] == [("e", 1)]


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The worker processes ``automl.submit`` starts, kept so the test can reap them
    (the launcher itself lets go of them)."""
    from slipway.jobs import launcher

    started: list[subprocess.Popen[bytes]] = []

    class Recorded(subprocess.Popen[bytes]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(launcher.subprocess, "Popen", Recorded)
    yield started
    for proc in started:
        proc.wait(timeout=120)


def test_submit_then_cancel_an_automl_run(api: Api, workers: list[Any]) -> None:
    h = api.as_("contributor")
    response = api.client.post("/api/v1/runs", headers=h, json={
        "experiment": "api", "dataset": "toy",
        "automl": {"target": "y", "timeout_s": 30, "iterations": 2, "concurrency": 1}})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == RunStatus.QUEUED and run["experiment"] == "api"
    assert run["settings"]["dataset"] == "toy" and run["settings"]["automl"]["target"] == "y"
    assert len(workers) == 1
    canceled = api.client.post(f"/api/v1/runs/{run['run_id']}/cancel", headers=h).json()
    assert canceled["status"] in (RunStatus.CANCELED, RunStatus.RUNNING)
    workers[0].wait(timeout=120)
    final = api.client.get(f"/api/v1/runs/{run['run_id']}", headers=h).json()
    assert final["status"] in (RunStatus.CANCELED, RunStatus.COMPLETED)
    bad = api.client.post("/api/v1/runs", headers=h, json={
        "dataset": "toy", "automl": {"target": "y", "primary_metric": "r2_score"}})
    assert bad.status_code == 400 and "not a classification metric" in bad.json()["error"]["message"]


def test_models_register_tag_and_download(api: Api) -> None:
    h = api.as_("contributor")
    response = api.client.post("/api/v1/models", headers=h, json={
        "run_id": "AutoML_p", "name": "toy-model", "description": "v2", "tags": {"team": "a"}})
    assert response.status_code == 201
    model = response.json()
    assert model["model"] == "toy-model:2" and model["lineage"]["run_id"] == "AutoML_p_0"
    assert api.client.get("/api/v1/models/toy-model", headers=h).json()["version"] == 2
    versions = api.client.get("/api/v1/models/toy-model/versions", headers=h).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert api.client.get("/api/v1/models/gone/versions", headers=h).status_code == 404
    tagged = api.client.patch("/api/v1/models/toy-model/versions/2", headers=h,
                              json={"tags": {"stage": "prod"}}).json()
    assert tagged["tags"] == {"team": "a", "stage": "prod"} and tagged["description"] == "v2"
    archive = api.client.get("/api/v1/models/toy-model/download?version=1", headers=h)
    assert archive.headers["content-type"] == "application/zip"
    assert 'filename="toy-model-1.zip"' in archive.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "signature.json" in names
    tar = api.client.get("/api/v1/models/toy-model/download?format=tar", headers=h)
    with tarfile.open(fileobj=io.BytesIO(tar.content), mode="r:gz") as bundle:
        assert "model/signature.json" in bundle.getnames()
    tmp = api.ctx.artifacts.root / "tmp"
    assert not any(tmp.iterdir())  # the archives were removed once sent


def test_endpoint_control_routes(api: Api) -> None:
    h = api.as_("contributor")
    listed = api.client.get("/api/v1/endpoints", headers=h).json()["items"]
    assert [(e["name"], e["state"], e["model"]) for e in listed] == [
        ("ep", "Stopped", "toy-model:1")]
    keys = api.client.get("/api/v1/endpoints/ep/keys", headers=h).json()
    assert keys == {"primary_key": "primary-key-1", "secondary_key": "secondary-key-1"}
    regenerated = api.client.post("/api/v1/endpoints/ep/regen-key", headers=h,
                                  json={"key": "primary"}).json()
    assert regenerated["primary_key"] != "primary-key-1"
    assert regenerated["secondary_key"] == "secondary-key-1"
    token = api.client.post("/api/v1/endpoints/ep/token", headers=h)
    assert token.status_code == 400 and "key auth" in token.json()["error"]["message"]
    updated = api.client.patch("/api/v1/endpoints/ep", headers=h, json={"monitoring": True})
    assert updated.json()["monitoring"] is True
    nothing = api.client.patch("/api/v1/endpoints/ep", headers=h, json={})
    assert nothing.status_code == 400
    assert api.client.get("/api/v1/endpoints/ep/logs", headers=h).json() == {
        "items": [], "offset": 0}
    assert api.client.get("/api/v1/endpoints/ep/metrics", headers=h).json() == {"items": []}
    assert api.client.post("/api/v1/endpoints/ep/stop", headers=h).json()["state"] == "Stopped"
    taken = api.client.post("/api/v1/endpoints", headers=h, json={
        "name": "ep", "model": "toy-model:1"})
    assert taken.status_code == 409
    assert api.client.delete("/api/v1/endpoints/ep", headers=h).status_code == 204
    assert api.client.get("/api/v1/endpoints/ep", headers=h).status_code == 404


def test_a_runs_model_is_sent_with_its_hash(api: Api, tmp_path: Path) -> None:
    from slipway.store.artifacts import sha256_tree

    h = api.as_("reader")
    run = api.ctx.runs.get_run("AutoML_p")
    archive = api.client.get("/api/v1/runs/AutoML_p/model", headers=h)
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert 'filename="AutoML_p-model.zip"' in archive.headers["content-disposition"]
    assert archive.headers["x-slipway-model-sha256"] == run.model_sha256
    zipfile.ZipFile(io.BytesIO(archive.content)).extractall(tmp_path / "model")
    assert sha256_tree(tmp_path / "model") == run.model_sha256
    tar = api.client.get("/api/v1/runs/AutoML_p_0/model?format=tar", headers=h)
    with tarfile.open(fileobj=io.BytesIO(tar.content), mode="r:gz") as bundle:
        assert "model/model.pkl" in bundle.getnames()
    assert not any((api.ctx.artifacts.root / "tmp").iterdir())

    missing = api.client.get("/api/v1/runs/AutoML_nope/model", headers=h)
    assert missing.status_code == 404 and "AutoML_nope" in missing.json()["error"]["message"]
    no_model = api.client.get("/api/v1/runs/AutoML_p_1/model", headers=h).json()["error"]
    assert no_model["code"] == "model_not_found" and "AutoML_p_1" in no_model["message"]
    assert "leaderboard" in no_model["hint"]


def test_start_all_is_not_an_endpoint_name(api: Api) -> None:
    """"start-all" is a valid endpoint name; POST /endpoints/start-all is the only
    route of that path, so such an endpoint is still shown, changed and deleted."""
    h = api.as_("contributor")
    api.ctx.endpoints.create(
        "start-all", model_name="toy-model", model_version=1, state=EndpointState.STOPPED,
        desired_running=False, auth_mode="none", host="127.0.0.1", port=18998, workers=1,
        monitoring=False, primary_key=api.ctx.secrets.encrypt("k1"),
        secondary_key=api.ctx.secrets.encrypt("k2"))
    assert api.client.post("/api/v1/endpoints/start-all", headers=h).json() == {"items": []}
    shown = api.client.get("/api/v1/endpoints/start-all", headers=h)
    assert shown.status_code == 200 and shown.json()["name"] == "start-all"
    assert api.client.delete("/api/v1/endpoints/start-all", headers=h).status_code == 204
    assert api.client.post("/api/v1/endpoints/start-all?timeout_s=0", headers=h).status_code == 422


def test_users_change_their_own_password(api: Api) -> None:
    from slipway.services import identities

    identities.add_user(api.ctx, "carol", "reader", "the old passphrase")
    token = api.client.post("/oauth/token", data={
        "grant_type": "password", "username": "carol",
        "password": "the old passphrase"}).json()["access_token"]
    wrong = api.client.post("/api/v1/me/password", headers=bearer(token), json={
        "old_password": "not it at all", "new_password": "the new passphrase"})
    # 403, not 401: the token is good (a client must not renew it and try again)
    assert wrong.status_code == 403 and "www-authenticate" not in wrong.headers
    assert wrong.json()["error"]["code"] == "wrong_password"
    typo = api.client.post("/api/v1/me/password", headers=bearer(token), json={
        "old_password": "the old passphrase", "new_pasword": "the new passphrase"})
    assert typo.status_code == 422
    changed = api.client.post("/api/v1/me/password", headers=bearer(token), json={
        "old_password": "the old passphrase", "new_password": "the new passphrase"})
    assert changed.status_code == 200 and changed.json()["name"] == "carol"
    assert "secret" not in changed.json()
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    refused = api.client.post("/api/v1/me/password", headers=api.as_("contributor"), json={
        "old_password": "x", "new_password": "the new passphrase"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_a_user"


def test_identities_are_an_owners_business(api: Api) -> None:
    h = api.as_("owner")
    created = api.client.post("/api/v1/identities/service-principals", headers=h,
                              json={"name": "pipeline-bot", "role": "reader"})
    assert created.status_code == 201
    body = created.json()
    assert body["identity"]["role"] == "reader" and body["secret"].startswith("swsp_")
    creds = body["sdk_auth"]
    assert creds["clientSecret"] == body["secret"]
    assert creds["tokenUrl"] == "http://testserver/oauth/token"
    token = api.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": creds["clientId"],
        "client_secret": creds["clientSecret"]}).json()["access_token"]
    assert api.client.get("/api/v1/me", headers=bearer(token)).json()["role"] == "reader"
    promoted = api.client.post("/api/v1/identities/service-principals/pipeline-bot/set-role",
                               headers=h, json={"role": "contributor"})
    assert promoted.json()["role"] == "contributor"
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    user = api.client.post("/api/v1/identities/users", headers=h, json={"name": "ann"}).json()
    assert user["identity"]["kind"] == "user" and len(user["secret"]) >= 12
    assert "sdk_auth" not in user
    chosen = api.client.post("/api/v1/identities/users/ann/reset-password", headers=h,
                             json={"password": "a long enough password"}).json()
    assert chosen["secret"] is None
    names = [i["name"] for i in api.client.get("/api/v1/identities?kind=users",
                                               headers=h).json()["items"]]
    assert names == ["ann", "olive", "rita"]
    shown = api.client.get("/api/v1/identities/service-principals/pipeline-bot", headers=h)
    assert "secret" not in shown.json() and shown.json()["client_id"] == creds["clientId"]
    last_owner = api.client.delete("/api/v1/identities/users/olive", headers=h)
    assert last_owner.status_code == 409
    assert api.client.delete("/api/v1/identities/users/ann", headers=h).status_code == 204
    revoked = api.client.post("/api/v1/identities/users/rita/revoke-tokens", headers=h)
    assert revoked.status_code == 200
    assert api.client.get("/api/v1/me", headers=api.as_("reader")).status_code == 401
    wrong_kind = api.client.get("/api/v1/identities/robots/x", headers=h)
    assert wrong_kind.status_code == 422


def test_rotating_the_signing_key_keeps_tokens_valid(api: Api) -> None:
    before = api.client.get("/.well-known/jwks.json").json()["keys"]
    kid = api.client.post("/api/v1/workspace/rotate-signing-key",
                          headers=api.as_("owner")).json()["kid"]
    after = api.client.get("/.well-known/jwks.json").json()["keys"]
    assert kid in {k["kid"] for k in after} and len(after) == len(before) + 1
    assert api.client.get("/api/v1/me", headers=api.as_("contributor")).status_code == 200


def test_docs_work_offline(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = api.client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 10_000
    assert api.client.get("/docs/assets/..%2Fetc").status_code == 404
    spec = api.client.get("/openapi.json").json()
    # Swagger UI 4 shows "Unable to render this definition" for OpenAPI 3.1 (seen in
    # Chromium): the UI served must be one that reads the version the spec declares.
    bundle = api.client.get("/docs/assets/swagger-ui-bundle.js").content
    assert spec["openapi"].startswith("3.1") and b"isOAS31" in bundle
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/oauth/token" in spec["paths"] and "/api/v1/datasets/upload" in spec["paths"]


def test_endpoints_deployed_through_the_server_listen_where_it_does(make_api: Any,
                                                                     ws_path: Path,
                                                                     monkeypatch: Any) -> None:
    from .conftest import seed_resources, sign_in

    monkeypatch.setenv("SLIPWAY_PUBLIC_HOST", "ml.example.com")
    app, client = make_api(ws_path, endpoint_host="0.0.0.0")
    ctx = app.state.slipway.ctx
    seed_resources(ctx, ws_path.parent)
    h = bearer(sign_in(ctx, "carl", "contributor"))
    try:
        made = client.post("/api/v1/endpoints", headers=h,
                           json={"name": "wide", "model": "toy-model:1"})
        assert made.status_code == 201, made.text
        assert ctx.endpoints.get("wide").host == "0.0.0.0"
        assert made.json()["scoring_uri"].startswith("http://ml.example.com:")
        # An explicit host still wins.
        local = client.post("/api/v1/endpoints", headers=h,
                            json={"name": "narrow", "model": "toy-model:1", "host": "127.0.0.1"})
        assert local.json()["scoring_uri"].startswith("http://127.0.0.1:")
    finally:
        for name in ("wide", "narrow"):
            client.delete(f"/api/v1/endpoints/{name}", headers=h)


def test_a_host_this_machine_cannot_listen_on_is_a_clear_400(api: Api) -> None:
    h = api.as_("contributor")
    for host in ("no-such-host.invalid", "192.0.2.1"):  # unresolvable; not this machine's
        answer = api.client.post("/api/v1/endpoints", headers=h,
                                 json={"name": "wide", "model": "toy-model:1", "host": host})
        assert answer.status_code == 400, answer.text
        assert "cannot listen on host" in answer.json()["error"]["message"]
    assert api.client.get("/api/v1/endpoints/wide", headers=h).status_code == 404  # nothing kept
