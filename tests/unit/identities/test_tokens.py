from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from slipway.core.errors import InvalidInput, Unauthenticated
from slipway.services import identities as ids
from slipway.services import tokens
from slipway.services.identities import Action, authorize
from slipway.services.workspace import WorkspaceContext

from .conftest import fast


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _sp(ctx: WorkspaceContext, name: str = "ci-bot", role: str = "contributor") -> tuple[str, str]:
    issued = ids.create_service_principal(ctx, name, role)
    assert issued.identity.client_id is not None and issued.secret is not None
    return issued.identity.client_id, issued.secret


def _refused(ctx: WorkspaceContext, token: str | None, code: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        tokens.authenticate(ctx, token)
    assert info.value.code == code, info.value.message
    assert info.value.http_status == 401
    return info.value


def test_client_credentials_token_claims_and_principal(ctx: WorkspaceContext) -> None:
    client_id, secret = _sp(ctx)
    before = int(time.time())
    response = tokens.client_credentials_grant(ctx, client_id, secret)
    assert response.refresh_token is None  # client credentials sign in again instead
    body = response.to_dict()
    assert set(body) == {"access_token", "token_type", "expires_in", "expires_on"}
    assert body["token_type"] == "Bearer" and 3590 <= body["expires_in"] <= 3600
    claims = _claims(response.access_token)
    assert set(claims) == {"iss", "aud", "sub", "name", "kind", "role", "iat", "exp", "jti", "gen"}
    assert claims["iss"] == f"urn:slipway:workspace:{ctx.workspace_id}"
    assert claims["aud"] == ctx.workspace_id
    assert claims["sub"] == ids.get(ctx, "ci-bot").uid
    assert (claims["name"], claims["kind"], claims["role"]) == ("ci-bot", "service_principal",
                                                                "contributor")
    assert claims["exp"] - claims["iat"] == 3600 and before - 1 <= claims["iat"] <= time.time()
    assert jwt.get_unverified_header(response.access_token)["kid"] == ctx.secrets.key_id()
    assert _claims(tokens.client_credentials_grant(ctx, client_id, secret).access_token)["jti"] \
        != claims["jti"]

    principal = tokens.authenticate(ctx, f"Bearer {response.access_token}")
    assert (principal.name, principal.kind, principal.role, principal.workspace_id) == \
        ("ci-bot", "service_principal", "contributor", ctx.workspace_id)
    assert principal.token_id == claims["jti"] and principal.expires_at is not None
    assert tokens.authenticate(ctx, response.access_token) == principal
    authorize(principal, Action.ENDPOINTS_WRITE)
    assert ids.get(ctx, "ci-bot").last_login_at is not None


def test_wrong_client_credentials(ctx: WorkspaceContext) -> None:
    client_id, secret = _sp(ctx)
    alice = ids.add_user(ctx, "alice", "owner")
    for cid, sec in ((client_id, secret + "x"), ("nobody", secret), (client_id, "")):
        with pytest.raises(Unauthenticated) as info:
            tokens.client_credentials_grant(ctx, cid, sec)
        assert info.value.code == "invalid_client"
        assert info.value.message == "wrong client id or client secret"
    # A user cannot sign in through the service principal grant, nor the reverse.
    assert alice.secret is not None
    with pytest.raises(Unauthenticated):
        tokens.client_credentials_grant(ctx, "alice", alice.secret)
    with pytest.raises(Unauthenticated) as info:
        tokens.password_grant(ctx, "ci-bot", secret)
    assert info.value.message == "wrong user name or password"


def test_token_grant_dispatch(ctx: WorkspaceContext) -> None:
    client_id, secret = _sp(ctx)
    user = ids.add_user(ctx, "alice", "reader")
    assert user.secret is not None
    sp_token = tokens.token_grant(ctx, {"grant_type": "client_credentials", "client_id": client_id,
                                        "client_secret": secret})
    assert tokens.authenticate(ctx, sp_token.access_token).name == "ci-bot"
    pw = tokens.token_grant(ctx, {"grant_type": "password", "username": "alice",
                                  "password": user.secret})
    assert pw.refresh_token is not None
    refreshed = tokens.token_grant(ctx, {"grant_type": "refresh_token",
                                         "refresh_token": pw.refresh_token})
    assert tokens.authenticate(ctx, refreshed.access_token).name == "alice"
    with pytest.raises(InvalidInput) as info:
        tokens.token_grant(ctx, {"grant_type": "implicit"})
    assert info.value.code == "unsupported_grant_type"
    assert info.value.hint == "use one of: client_credentials, password, refresh_token"
    with pytest.raises(InvalidInput) as info:
        tokens.token_grant(ctx, {"grant_type": "password", "username": "alice"})
    assert info.value.code == "invalid_request" and "'password'" in info.value.message


def test_refresh_tokens_rotate_and_a_replay_revokes_the_sign_in(ctx: WorkspaceContext) -> None:
    user = ids.add_user(ctx, "alice", "reader")
    assert user.secret is not None
    first = tokens.password_grant(ctx, "alice", user.secret)
    assert first.refresh_token is not None and first.refresh_token.startswith("swrt_")
    assert set(first.to_dict()) == {"access_token", "token_type", "expires_in", "expires_on",
                                    "refresh_token"}
    second = tokens.refresh_grant(ctx, first.refresh_token)
    assert second.refresh_token not in (None, first.refresh_token)
    assert tokens.authenticate(ctx, second.access_token).role == "reader"
    # The spent token again: theft or a confused client. The whole chain ends.
    with pytest.raises(Unauthenticated, match="already used"):
        tokens.refresh_grant(ctx, first.refresh_token)
    assert second.refresh_token is not None
    with pytest.raises(Unauthenticated, match="revoked"):
        tokens.refresh_grant(ctx, second.refresh_token)
    # Another sign-in is unaffected, and can be signed out.
    other = tokens.password_grant(ctx, "alice", user.secret)
    assert other.refresh_token is not None
    tokens.revoke_refresh_token(ctx, other.refresh_token)
    tokens.revoke_refresh_token(ctx, "swrt_unknown")  # no error, no oracle
    with pytest.raises(Unauthenticated, match="revoked"):
        tokens.refresh_grant(ctx, other.refresh_token)
    with pytest.raises(Unauthenticated, match="not valid"):
        tokens.refresh_grant(ctx, "swrt_made_up")


def test_expired_refresh_token(ctx: WorkspaceContext) -> None:
    user = ids.add_user(ctx, "alice", "reader")
    assert user.secret is not None
    signed_in = tokens.password_grant(ctx, "alice", user.secret)
    assert signed_in.refresh_token is not None
    from slipway.store.tables import refresh_tokens

    with ctx.engine.begin() as conn:
        conn.execute(refresh_tokens.update().values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.refresh_grant(ctx, signed_in.refresh_token)
    # The next sign-in sweeps expired refresh tokens away.
    tokens.password_grant(ctx, "alice", user.secret)
    with ctx.engine.connect() as conn:
        assert len(conn.execute(refresh_tokens.select()).all()) == 1
    with pytest.raises(Unauthenticated, match="not valid"):
        tokens.refresh_grant(ctx, signed_in.refresh_token)


def test_role_change_and_new_secret_end_old_tokens(ctx: WorkspaceContext) -> None:
    user = ids.add_user(ctx, "alice", "contributor")
    assert user.secret is not None
    signed_in = tokens.password_grant(ctx, "alice", user.secret)
    assert signed_in.refresh_token is not None
    ids.set_role(ctx, "alice", "reader")
    _refused(ctx, signed_in.access_token, "token_revoked")
    # The refresh token lives on and brings the new role.
    renewed = tokens.refresh_grant(ctx, signed_in.refresh_token)
    principal = tokens.authenticate(ctx, renewed.access_token)
    assert principal.role == "reader" and _claims(renewed.access_token)["role"] == "reader"
    # A new password ends access and refresh tokens.
    ids.reset_password(ctx, "alice")
    _refused(ctx, renewed.access_token, "token_revoked")
    assert renewed.refresh_token is not None
    with pytest.raises(Unauthenticated):
        tokens.refresh_grant(ctx, renewed.refresh_token)


def test_revoke_tokens_and_deleted_identity(ctx: WorkspaceContext) -> None:
    client_id, secret = _sp(ctx)
    token = tokens.client_credentials_grant(ctx, client_id, secret).access_token
    ids.revoke_tokens(ctx, "ci-bot")
    _refused(ctx, token, "token_revoked")
    token = tokens.client_credentials_grant(ctx, client_id, secret).access_token
    tokens.authenticate(ctx, token)
    ids.delete(ctx, "ci-bot")
    _refused(ctx, token, "token_revoked")
    # A new identity with the same name is someone else: the old token stays dead.
    _sp(ctx)
    _refused(ctx, token, "token_revoked")


def test_expired_token_is_refused(ctx: WorkspaceContext) -> None:
    client_id, secret = _sp(ctx)
    claims = _claims(tokens.client_credentials_grant(ctx, client_id, secret).access_token)
    now = int(time.time())
    stale = ctx.secrets.sign({**claims, "iat": now - 7200, "exp": now - tokens.LEEWAY_S - 5})
    error = _refused(ctx, stale, "token_expired")
    assert "expired" in error.message and "/oauth/token" in (error.hint or "")
    within_leeway = ctx.secrets.sign({**claims, "exp": now - 2})
    assert tokens.authenticate(ctx, within_leeway).name == "ci-bot"


def test_token_for_another_workspace_is_refused(ctx: WorkspaceContext, tmp_path: Any,
                                                monkeypatch: Any) -> None:
    from slipway import Workspace

    monkeypatch.delenv("SLIPWAY_DATABASE_URL", raising=False)  # "other" has its own database

    client_id, secret = _sp(ctx)
    mine = tokens.client_credentials_grant(ctx, client_id, secret).access_token
    claims = _claims(mine)
    # Signed with this workspace's key, addressed to another workspace.
    _refused(ctx, ctx.secrets.sign({**claims, "aud": "0" * 32}), "wrong_workspace")
    _refused(ctx, ctx.secrets.sign({**claims, "iss": "urn:slipway:workspace:other"}),
             "wrong_workspace")
    # Issued by another workspace altogether.
    with Workspace(tmp_path / "other") as other:
        other_ctx = fast(other._ctx)
        other_id, other_secret = _sp(other_ctx, "bot")
        theirs = tokens.client_credentials_grant(other_ctx, other_id, other_secret).access_token
        _refused(ctx, theirs, "wrong_workspace")
        _refused(other_ctx, mine, "wrong_workspace")


def test_forged_odd_or_missing_tokens_are_refused(ctx: WorkspaceContext) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    client_id, secret = _sp(ctx)
    token = tokens.client_credentials_grant(ctx, client_id, secret).access_token
    claims = _claims(token)
    _refused(ctx, None, "missing_token")
    _refused(ctx, "Bearer ", "missing_token")
    _refused(ctx, "not-a-jwt", "invalid_token")
    head, body, sig = token.split(".")
    _refused(ctx, f"{head}.{body}.{sig[:-4]}AAAA", "invalid_token")
    # A stranger's key under our kid.
    forged = jwt.encode({**claims, "role": "owner"}, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": ctx.secrets.key_id()})
    _refused(ctx, forged, "invalid_token")
    _refused(ctx, jwt.encode(claims, "s" * 64, algorithm="HS256",
                             headers={"kid": ctx.secrets.key_id()}), "invalid_token")
    _refused(ctx, jwt.encode(claims, "", algorithm="none"), "invalid_token")
    # Ours, but not an access token: an endpoint token (audience = an endpoint name)...
    endpoint_token = ctx.secrets.sign({"aud": ctx.workspace_id, "sub": "workspace:x",
                                       "iat": claims["iat"], "exp": claims["exp"]})
    _refused(ctx, endpoint_token, "invalid_token")
    # ... or a claim set that is missing something or claims a kind that does not exist.
    for changed in ({"kind": "robot"}, {"role": "god"}, {"jti": None}, {"name": None}):
        bad = {k: v for k, v in {**claims, **changed}.items() if v is not None}
        _refused(ctx, ctx.secrets.sign(bad), "invalid_token")
    _refused(ctx, ctx.secrets.sign({**claims, "gen": claims["gen"] + 1}), "token_revoked")
    _refused(ctx, ctx.secrets.sign({**claims, "kind": "user"}), "token_revoked")


def test_run_tokens(ctx: WorkspaceContext) -> None:
    response = tokens.issue_run_token(ctx, "AutoML_abc", timedelta(minutes=5))
    claims = _claims(response.access_token)
    assert (claims["sub"], claims["name"], claims["kind"], claims["role"]) == \
        ("run:AutoML_abc", "AutoML_abc", "run", "contributor")
    assert claims["aud"] == ctx.workspace_id and claims["exp"] - claims["iat"] == 300
    assert "gen" not in claims
    principal = tokens.authenticate(ctx, response.access_token)
    assert (principal.name, principal.kind, principal.role) == ("AutoML_abc", "run", "contributor")
    authorize(principal, Action.RUNS_WRITE)
    reader = tokens.authenticate(ctx, tokens.issue_run_token(ctx, "r2", role="reader").access_token)
    assert reader.role == "reader"
    for bad in ({"role": "owner"}, {"role": "boss"}, {"ttl": timedelta(0)},
                {"ttl": timedelta(hours=25)}):
        with pytest.raises(InvalidInput):
            tokens.issue_run_token(ctx, "r", **bad)
    with pytest.raises(InvalidInput):
        tokens.issue_run_token(ctx, "")
    # Even a correctly signed run token may not claim to be an owner.
    _refused(ctx, ctx.secrets.sign({**claims, "role": "owner"}), "invalid_token")
