from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from slipway.core.errors import Unauthenticated
from slipway.services import identities as ids
from slipway.services import tokens
from slipway.services.workspace import WorkspaceContext
from slipway.store.secrets import PREVIOUS_KEYS_FILE, SIGNING_FILE


def _token(ctx: WorkspaceContext) -> str:
    issued = ids.create_service_principal(ctx, f"bot{len(ids.list_identities(ctx))}")
    assert issued.identity.client_id is not None and issued.secret is not None
    return tokens.client_credentials_grant(ctx, issued.identity.client_id,
                                           issued.secret).access_token


def _verify_with_jwks(document: dict[str, Any], token: str, audience: str) -> dict[str, Any]:
    """What a third party does: pick the JWK by kid, verify with it alone."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in document["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk)
    return dict(jwt.decode(token, key.key, algorithms=[jwk["alg"]], audience=audience))


def test_jwks_lists_the_current_key_in_standard_form(ctx: WorkspaceContext) -> None:
    document = tokens.jwks(ctx)
    assert [set(k) for k in document["keys"]] == [{"kty", "crv", "x", "kid", "alg", "use"}]
    key = document["keys"][0]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert key["kid"] == ctx.secrets.key_id()
    token = _token(ctx)
    assert _verify_with_jwks(document, token, ctx.workspace_id)["name"] == "bot0"
    assert json.loads(json.dumps(document)) == document
    assert "d" not in key  # never the private part


def test_rotation_keeps_old_tokens_valid_until_they_expire(ctx: WorkspaceContext) -> None:
    old_kid = ctx.secrets.key_id()
    old_token = _token(ctx)
    new_kid = tokens.rotate_signing_key(ctx)
    assert new_kid == ctx.secrets.key_id() != old_kid
    document = tokens.jwks(ctx)
    assert [k["kid"] for k in document["keys"]] == [new_kid, old_kid]
    assert tokens.authenticate(ctx, old_token).name == "bot0"
    assert _verify_with_jwks(document, old_token, ctx.workspace_id)["name"] == "bot0"
    new_token = _token(ctx)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert tokens.authenticate(ctx, new_token).name == "bot1"

    # Rotating again keeps both previous keys; the private halves are gone.
    third = tokens.rotate_signing_key(ctx)
    assert [k["kid"] for k in tokens.jwks(ctx)["keys"]] == [third, *sorted([new_kid, old_kid])]
    previous = (ctx.settings.workspace / "secrets" / PREVIOUS_KEYS_FILE).read_text()
    assert "PRIVATE" not in previous
    for name in (PREVIOUS_KEYS_FILE, SIGNING_FILE):
        mode = (ctx.settings.workspace / "secrets" / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
    # Retired keys verify for the longest token lifetime, not forever.
    entry = json.loads(previous)["keys"][0]
    verify_until = datetime.fromisoformat(entry["verify_until"])
    retired_at = datetime.fromisoformat(entry["retired_at"])
    assert verify_until - retired_at == tokens.MAX_TOKEN_TTL + timedelta(seconds=tokens.LEEWAY_S)


def test_a_retired_key_past_its_time_no_longer_verifies(ctx: WorkspaceContext) -> None:
    old_token = _token(ctx)
    tokens.rotate_signing_key(ctx)
    path = ctx.settings.workspace / "secrets" / PREVIOUS_KEYS_FILE
    data = json.loads(path.read_text())
    data["keys"][0]["verify_until"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(data))
    assert len(tokens.jwks(ctx)["keys"]) == 1
    with pytest.raises(Unauthenticated) as info:
        tokens.authenticate(ctx, old_token)
    assert info.value.code == "invalid_token" and "current key" in info.value.message
    tokens.rotate_signing_key(ctx)  # prunes it from the file too
    assert len(json.loads(path.read_text())["keys"]) == 1


def test_endpoint_tokens_from_before_a_rotation_verify_at_the_endpoint_until_they_expire(
        ctx: WorkspaceContext) -> None:
    from slipway.services import endpoints
    from slipway.serving.auth import Authenticator, AuthError
    from slipway.serving.config import EndpointConfig

    ctx.endpoints.create("bank", model_name="m", model_version=1, state="Stopped",
                         desired_running=False, auth_mode="token", host="127.0.0.1", port=1,
                         workers=1, monitoring=False)
    config_dir, _ = endpoints.endpoint_dirs(ctx, "bank")
    config_dir.mkdir(parents=True)
    config = EndpointConfig(name="bank", auth="token")
    before = endpoints.get_token(ctx, "bank")["access_token"]
    tokens.rotate_signing_key(ctx)
    after = endpoints.get_token(ctx, "bank")["access_token"]
    assert jwt.get_unverified_header(after)["kid"] == ctx.secrets.key_id()
    # What the scoring process does: read token_public_key.pem, verify offline.
    published = (config_dir / "token_public_key.pem").read_bytes()
    assert published.startswith(ctx.secrets.public_key_pem())
    for token in (before, after):
        assert Authenticator(config_dir).check(config, f"Bearer {token}".encode()) == "token"
    # Once the retired key is past its time, the next publication drops it.
    path = ctx.settings.workspace / "secrets" / PREVIOUS_KEYS_FILE
    data = json.loads(path.read_text())
    data["keys"][0]["verify_until"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    path.write_text(json.dumps(data))
    tokens.rotate_signing_key(ctx)
    newest = endpoints.get_token(ctx, "bank")["access_token"]
    authenticator = Authenticator(config_dir)
    assert authenticator.check(config, f"Bearer {newest}".encode()) == "token"
    assert authenticator.check(config, f"Bearer {after}".encode()) == "token"
    with pytest.raises(AuthError):
        authenticator.check(config, f"Bearer {before}".encode())
