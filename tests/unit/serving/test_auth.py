"""Key, token and no auth; 401 with WWW-Authenticate; keys never logged; rotation at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from slipway.core.model_dir import read_signature
from slipway.serving.config import KEYS_FILE, write_keys, write_token_public_key

from .conftest import PRIMARY_KEY, SECONDARY_KEY, AppClient, MakeClient


def score(client: AppClient, model_dir: Path, authorization: str | None = None) -> Any:
    headers = {"authorization": authorization} if authorization else {}
    return client.post("/score", json={"data": read_signature(model_dir).example}, headers=headers)


def test_key_auth_accepts_primary_and_secondary(make_client: MakeClient,
                                                bank_model_dir: Path) -> None:
    client = make_client(auth="key")
    assert score(client, bank_model_dir, f"Bearer {PRIMARY_KEY}").status_code == 200
    assert score(client, bank_model_dir, f"bearer {SECONDARY_KEY}").status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", f"Basic {PRIMARY_KEY}",
                                           "Bearer", PRIMARY_KEY])
def test_missing_or_wrong_key_is_401(make_client: MakeClient, bank_model_dir: Path,
                                     authorization: str | None) -> None:
    client = make_client(auth="key")
    response = score(client, bank_model_dir, authorization)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="bank-endpoint"')
    assert response.json()["error"]["code"] == "unauthenticated"


def test_keys_file_holds_only_hashes_and_keys_never_reach_the_log(
        make_client: MakeClient, bank_model_dir: Path) -> None:
    client = make_client(auth="key")
    score(client, bank_model_dir, f"Bearer {PRIMARY_KEY}")
    score(client, bank_model_dir, "Bearer not-the-key-xyz")
    stored = (client.app.config_dir / KEYS_FILE).read_text()
    logged = client.app.request_log.path.read_text()
    for secret in (PRIMARY_KEY, SECONDARY_KEY, "not-the-key-xyz"):
        assert secret not in stored
        assert secret not in logged


def test_regenerating_a_key_invalidates_it_at_once(make_client: MakeClient,
                                                   bank_model_dir: Path) -> None:
    client = make_client(auth="key")
    assert score(client, bank_model_dir, f"Bearer {PRIMARY_KEY}").status_code == 200
    write_keys(client.app.config_dir, primary="brand-new-primary-key")
    assert score(client, bank_model_dir, f"Bearer {PRIMARY_KEY}").status_code == 401
    assert score(client, bank_model_dir, "Bearer brand-new-primary-key").status_code == 200
    assert score(client, bank_model_dir, f"Bearer {SECONDARY_KEY}").status_code == 200


def test_no_auth_needs_no_header(make_client: MakeClient, bank_model_dir: Path) -> None:
    assert score(make_client(auth="none"), bank_model_dir).status_code == 200


def test_switching_auth_mode_needs_no_restart(make_client: MakeClient,
                                              bank_model_dir: Path) -> None:
    from slipway.serving.config import update_endpoint_config

    client = make_client(auth="none")
    assert score(client, bank_model_dir).status_code == 200
    update_endpoint_config(client.app.config_dir, auth="key")
    assert score(client, bank_model_dir).status_code == 401


def _pem(public_key: Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def token_client(make_client: MakeClient, rsa_key: rsa.RSAPrivateKey) -> AppClient:
    client = make_client(auth="token")
    write_token_public_key(client.app.config_dir, _pem(rsa_key.public_key()))
    return client


def _token(key: Any, algorithm: str = "RS256", **claims: Any) -> str:
    body = {"sub": "sp-123", "aud": "bank-endpoint", "exp": int(time.time()) + 300, **claims}
    return jwt.encode(body, key, algorithm=algorithm)


def test_token_auth_accepts_a_valid_token(token_client: AppClient, bank_model_dir: Path,
                                          rsa_key: rsa.RSAPrivateKey) -> None:
    token = _token(rsa_key)
    assert score(token_client, bank_model_dir, f"Bearer {token}").status_code == 200
    assert score(token_client, bank_model_dir, f"Bearer {token}").status_code == 200  # cached
    assert token not in token_client.app.request_log.path.read_text()


def test_token_auth_with_eddsa(make_client: MakeClient, bank_model_dir: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    client = make_client(auth="token")
    write_token_public_key(client.app.config_dir, _pem(key.public_key()))
    assert score(client, bank_model_dir, f"Bearer {_token(key, 'EdDSA')}").status_code == 200


@pytest.mark.parametrize("case", ["expired", "audience", "no_exp", "other_key", "garbage",
                                  "hs256"])
def test_bad_tokens_are_401(token_client: AppClient, bank_model_dir: Path,
                            rsa_key: rsa.RSAPrivateKey, case: str) -> None:
    if case == "expired":
        token = _token(rsa_key, exp=int(time.time()) - 3600)
    elif case == "audience":
        token = _token(rsa_key, aud="another-endpoint")
    elif case == "no_exp":
        token = jwt.encode({"aud": "bank-endpoint"}, rsa_key, algorithm="RS256")
    elif case == "other_key":
        token = _token(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif case == "hs256":  # algorithm confusion: HMAC "signed" with the public key
        token = jwt.encode({"aud": "bank-endpoint", "exp": int(time.time()) + 60},
                           "not-the-public-key-but-long-enough-for-hmac-32b", algorithm="HS256")
    else:
        token = "not.a.jwt"
    response = score(token_client, bank_model_dir, f"Bearer {token}")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_keys_do_not_open_token_endpoints(token_client: AppClient, bank_model_dir: Path) -> None:
    assert score(token_client, bank_model_dir, f"Bearer {PRIMARY_KEY}").status_code == 401


def test_tokens_of_a_key_being_rotated_out_still_verify(make_client: MakeClient,
                                                        bank_model_dir: Path,
                                                        rsa_key: rsa.RSAPrivateKey) -> None:
    new_key = ed25519.Ed25519PrivateKey.generate()
    client = make_client(auth="token")
    write_token_public_key(client.app.config_dir,
                           _pem(new_key.public_key()) + _pem(rsa_key.public_key()))
    assert score(client, bank_model_dir, f"Bearer {_token(new_key, 'EdDSA')}").status_code == 200
    assert score(client, bank_model_dir, f"Bearer {_token(rsa_key)}").status_code == 200
    write_token_public_key(client.app.config_dir, _pem(new_key.public_key()))  # retired
    assert score(client, bank_model_dir, f"Bearer {_token(rsa_key)}").status_code == 401
