"""What only a remote workspace has: credentials (explicit, environment,
cached login with refresh), error envelopes back to SlipwayError classes,
config files naming a URL, the CLI over HTTP, and clear refusals."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api.conftest import sign_in
from typer.testing import CliRunner

from slipway import ServicePrincipalAuthentication, TokenAuthentication, Workspace
from slipway.client.auth import TokenCache, password_login
from slipway.client.config import resolve_target
from slipway.client.http import Http, error_from_response
from slipway.core.errors import (
    Forbidden,
    IntegrityError,
    InvalidInput,
    NotFound,
    SlipwayError,
    TooManyAttempts,
    Unauthenticated,
)
from slipway.services import identities, tokens
from slipway.services.models import MODEL_SHA256_HEADER

from .conftest import SERVER


def _answer(status: int, body: Any) -> httpx.Response:
    request = httpx.Request("GET", "http://x/api/v1/thing")
    if isinstance(body, str):
        return httpx.Response(status, text=body, request=request)
    return httpx.Response(status, json=body, request=request)


def test_error_answers_become_the_same_classes() -> None:
    missing = error_from_response(_answer(404, {"error": {
        "code": "dataset_not_found", "message": "no dataset 'x'", "hint": "list them"}}))
    assert isinstance(missing, NotFound) and missing.exit_code == 3
    assert (missing.code, missing.message, missing.hint) == ("dataset_not_found", "no dataset 'x'",
                                                             "list them")
    invalid = error_from_response(_answer(422, {"error": {
        "code": "validation_failed", "message": "bad", "details": {"errors": []}}}))
    assert isinstance(invalid, InvalidInput) and invalid.details == {"errors": []}
    refused = error_from_response(_answer(400, {"error": "invalid_grant",
                                                "error_description": "wrong password"}))
    assert isinstance(refused, Unauthenticated) and refused.message == "wrong password"
    limited = error_from_response(_answer(429, {"error": "too_many_attempts",
                                                "error_description": "wait"}))
    assert isinstance(limited, TooManyAttempts)
    proxy = error_from_response(_answer(502, "<html>bad gateway</html>"))
    assert type(proxy) is SlipwayError and "HTTP 502" in proxy.message


def test_credentials_from_the_environment(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, connect = server
    ctx = app.state.slipway.ctx
    issued = identities.create_service_principal(ctx, "ci-bot", "contributor")
    assert issued.identity.client_id and issued.secret
    monkeypatch.setenv("SLIPWAY_CLIENT_ID", issued.identity.client_id)
    monkeypatch.setenv("SLIPWAY_CLIENT_SECRET", issued.secret)
    monkeypatch.setenv("SLIPWAY_TOKEN", "ignored: the service principal comes first")
    ws = connect(None)
    assert ws.identities.me()["name"] == "ci-bot"
    with pytest.raises(Forbidden) as refused:  # a contributor may not manage identities
        ws.identities.users.list()
    assert refused.value.exit_code == 5

    monkeypatch.delenv("SLIPWAY_CLIENT_ID")
    monkeypatch.delenv("SLIPWAY_CLIENT_SECRET")
    monkeypatch.setenv("SLIPWAY_TOKEN", sign_in(ctx, "rita", "reader", kind="user"))
    assert connect(None).identities.me()["name"] == "rita"

    explicit = ServicePrincipalAuthentication(issued.identity.client_id, issued.secret)
    assert connect(explicit).identities.me()["name"] == "ci-bot"
    with pytest.raises(Unauthenticated):
        connect(ServicePrincipalAuthentication(issued.identity.client_id, "wrong")).runs.list()


def test_cached_login_refreshes(server: Any, tmp_path: Path) -> None:
    app, connect = server
    ctx = app.state.slipway.ctx
    identities.add_user(ctx, "olive", "owner", "a long enough passphrase")
    ws = connect(None)
    with pytest.raises(Unauthenticated) as anonymous:
        ws.runs.list()
    assert "slipway login --url" in str(anonymous.value.hint)

    cache = TokenCache()
    assert cache.path == Path(os.environ["HOME"]) / ".slipway" / "credentials.json"
    http = ws._http
    assert http is not None
    first = password_login(http, "olive", "a long enough passphrase")
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert cache.get(SERVER) == first and first["refresh_token"]
    assert [r.id for r in ws.runs.list()] == ["AutoML_p"]

    # An expired access token is refreshed before the call...
    cache.put(SERVER, {**first, "expires_on": int(time.time()) - 5})
    assert ws.identities.me()["name"] == "olive"
    second = cache.get(SERVER)
    assert second is not None and second["refresh_token"] != first["refresh_token"]
    # ...and one the server refuses is refreshed after the 401, once.
    cache.put(SERVER, {**second, "access_token": "not-a-token"})
    assert ws.datasets.get("toy").version == 1
    third = cache.get(SERVER)
    assert third is not None and third["access_token"] != "not-a-token"
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600


def test_config_files_and_environment_name_servers(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"url": "http://slipway.example:8765/"}))
    assert resolve_target(config) == "http://slipway.example:8765"
    monkeypatch.chdir(tmp_path)
    assert resolve_target() == "http://slipway.example:8765"
    monkeypatch.setenv("SLIPWAY_WORKSPACE", "https://other.example")
    assert resolve_target() == "https://other.example"
    ws = Workspace.from_config(config, auth=TokenAuthentication("t"))
    assert ws.is_remote and ws.url == "http://slipway.example:8765"
    with pytest.raises(InvalidInput):
        _ = ws.path
    with pytest.raises(InvalidInput):  # what needs the services in-process (slipway worker)
        _ = ws._ctx
    ws.close()


def test_the_last_login_is_the_default_workspace(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from slipway.client.config import resolve_workspace
    from slipway.settings import default_workspace

    monkeypatch.delenv("SLIPWAY_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_target() == default_workspace()
    cache = TokenCache()
    cache.put("http://a.example:8765", {"access_token": "t"})
    cache.set_default("http://a.example:8765/")
    assert resolve_target() == "http://a.example:8765"
    assert resolve_workspace() == default_workspace()  # commands that need a folder
    (tmp_path / "slipway.json").write_text(json.dumps({"url": "http://b.example"}))
    assert resolve_target() == "http://b.example"  # a config file here still wins
    (tmp_path / "slipway.json").unlink()
    assert cache.remove("http://a.example:8765")  # logging out forgets the default too
    assert resolve_target() == default_workspace()
    # ~/.slipway holds the credentials file, and still opens as the default workspace.
    with Workspace() as local:
        assert not local.is_remote and local.path == default_workspace()


def test_what_a_remote_workspace_cannot_do(server: Any, tmp_path: Path) -> None:
    app, connect = server
    sdk = connect(TokenAuthentication(sign_in(app.state.slipway.ctx, "olive", "owner", "user")))
    for call in (lambda: sdk.identities.issue_run_token("AutoML_p"),
                 lambda: sdk.identities.ensure_owner()):
        with pytest.raises(SlipwayError) as refused:
            call()
        assert refused.value.code == "remote_unsupported" and refused.value.hint


def test_a_run_model_that_does_not_match_its_hash_is_refused(
        server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, connect = server
    sdk = connect(TokenAuthentication(sign_in(app.state.slipway.ctx, "rita", "reader", "user")))
    fetch = Http.fetch

    def tampered(self: Http, path: str, target: Path, **params: Any) -> httpx.Headers:
        headers = fetch(self, path, target, **params)
        return httpx.Headers({**headers, MODEL_SHA256_HEADER: "0" * 64})

    monkeypatch.setattr(Http, "fetch", tampered)
    with pytest.raises(IntegrityError) as damaged:
        sdk.runs.handle("AutoML_p").get_output()
    assert "run 'AutoML_p'" in damaged.value.message


OLD, NEW = "the old passphrase", "the new passphrase"


def test_a_wrong_old_password_counts_toward_the_sign_in_lockout(server: Any) -> None:
    app, connect = server
    ctx = app.state.slipway.ctx
    identities.add_user(ctx, "carol", "reader", OLD)
    carol = connect(TokenAuthentication(tokens.password_grant(ctx, "carol", OLD).access_token))
    elsewhere = connect(TokenAuthentication(
        tokens.password_grant(ctx, "carol", OLD).access_token))
    for _ in range(tokens.DEFAULT_LIMITS.per_identity):
        with pytest.raises(Forbidden) as wrong:  # not 401: the token itself is fine
            carol.identities.users.change_password("carol", "a wrong guess!", NEW)
        assert wrong.value.code == "wrong_password"
        assert "slipway users reset-password carol" in str(wrong.value.hint)
    with pytest.raises(TooManyAttempts):  # locked, even with the right password...
        carol.identities.users.change_password("carol", OLD, NEW)
    with pytest.raises(TooManyAttempts):  # ...and so is signing in
        tokens.password_grant(ctx, "carol", OLD)

    ctx.identities.clear_failures("identity:carol")  # as when the window has passed
    assert carol.identities.users.change_password("carol", OLD, NEW).name == "carol"
    with pytest.raises(Unauthenticated):  # the user's other sign-ins have ended
        elsewhere.identities.me()


def test_only_users_change_their_own_password(server: Any) -> None:
    app, connect = server
    ctx = app.state.slipway.ctx
    issued = identities.create_service_principal(ctx, "ci-bot", "contributor")
    assert issued.identity.client_id and issued.secret
    robot = connect(ServicePrincipalAuthentication(issued.identity.client_id, issued.secret))
    with pytest.raises(Forbidden) as sp:
        robot.identities.users.change_password("ci-bot", issued.secret, NEW)
    assert sp.value.code == "not_a_user" and "slipway sp reset-secret ci-bot" in str(sp.value.hint)
    run = connect(TokenAuthentication(tokens.issue_run_token(ctx, "AutoML_p").access_token))
    with pytest.raises(Forbidden) as run_token:
        run.identities.users.change_password("AutoML_p", "x", NEW)
    assert run_token.value.code == "not_a_user"
    assert ctx.identities.failures_since("client:" + issued.identity.client_id,
                                         datetime.now(UTC) - timedelta(hours=1)) == []

    identities.add_user(ctx, "carol", "reader", OLD)
    carol = connect(TokenAuthentication(tokens.password_grant(ctx, "carol", OLD).access_token))
    with pytest.raises(InvalidInput) as other:
        carol.identities.users.change_password("olive", OLD, NEW)
    assert other.value.code == "not_your_password"


def test_a_login_session_signs_in_again_after_a_password_change(server: Any) -> None:
    app, connect = server
    identities.add_user(app.state.slipway.ctx, "carol", "owner", OLD)
    ws = connect(None)
    assert ws._http is not None
    first = password_login(ws._http, "carol", OLD)
    ws.identities.users.change_password("carol", OLD, NEW)
    assert ws.identities.me()["name"] == "carol"  # the cached sign-in was renewed
    renewed = TokenCache().get(SERVER)
    assert renewed is not None and renewed["refresh_token"] != first["refresh_token"]


def test_change_password_asks_for_both_passwords(server: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """On a server the user defaults to the signed-in one; the passwords are asked
    for (hidden), never arguments."""
    from slipway.cli import context
    from slipway.cli.main import app as cli

    app, connect = server
    ctx = app.state.slipway.ctx
    identities.add_user(ctx, "carol", "reader", OLD)
    token = tokens.password_grant(ctx, "carol", OLD).access_token
    monkeypatch.setattr(context, "_open", lambda path: connect(TokenAuthentication(token)))
    result = CliRunner().invoke(cli, ["users", "change-password"],
                                input=f"{OLD}\n{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert "Changed the password of carol" in result.output and NEW not in result.output
    assert tokens.password_grant(ctx, "carol", NEW).access_token


def test_server_down_is_unavailable() -> None:
    from slipway.core.errors import Unavailable

    http = Http("http://127.0.0.1:9", TokenAuthentication("t"))
    with pytest.raises(Unavailable) as down:
        http.get("/runs")
    assert down.value.exit_code == 8
    http.close()


def test_cli_over_http(sdk: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's commands, unchanged, on the remote (and local) workspace."""
    from slipway.cli import context
    from slipway.cli.main import app

    monkeypatch.setattr(context, "_open", lambda path: sdk)
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--output", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert [d["name"] for d in run("datasets", "list")] == ["toy"]
    assert run("datasets", "show", "toy")["num_rows"] == 20
    assert run("runs", "show", "AutoML_p")["status"] == "Completed"
    assert run("runs", "leaderboard", "AutoML_p")[0]["run_id"] == "AutoML_p_0"
    assert run("runs", "metrics", "AutoML_p_0")["metrics"] == {"AUC_weighted": 0.9}
    assert run("models", "show", "toy-model:1")["model"] == "toy-model:1"
    assert run("endpoints", "keys", "ep")["primary_key"] == "primary-key-1"
    assert run("sp", "create", "robot")["client_secret"]
    missing = runner.invoke(app, ["datasets", "show", "nope"])
    assert missing.exit_code == 3 and "nope" in missing.output
