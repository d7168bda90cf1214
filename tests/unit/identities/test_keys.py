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


def test_endpoint_token_signing_still_works_and_follows_rotation(ctx: WorkspaceContext) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from slipway.services.endpoints import endpoint_dirs

    ctx.endpoints.create("bank", model_name="m", model_version=1, state="Stopped",
                         desired_running=False, auth_mode="token", host="127.0.0.1", port=1,
                         workers=1, monitoring=False)
    config_dir, _ = endpoint_dirs(ctx, "bank")
    config_dir.mkdir(parents=True)
    endpoint_token = ctx.secrets.sign({"aud": "bank", "exp": 2**33})
    before: Any = load_pem_public_key(ctx.secrets.public_key_pem())
    assert jwt.decode(endpoint_token, before,
                      algorithms=["EdDSA"], audience="bank")["aud"] == "bank"
    tokens.rotate_signing_key(ctx)
    published = (config_dir / "token_public_key.pem").read_bytes()
    assert published == ctx.secrets.public_key_pem()
    fresh = ctx.secrets.sign({"aud": "bank", "exp": 2**33})
    assert jwt.get_unverified_header(fresh)["kid"] == ctx.secrets.key_id()
    after: Any = load_pem_public_key(published)
    assert after.public_bytes_raw() != before.public_bytes_raw()
    jwt.decode(fresh, after, algorithms=["EdDSA"], audience="bank")
