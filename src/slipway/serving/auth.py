"""Endpoint authentication: ``key``, ``token`` or ``none``, checked inside the endpoint.

- key: ``Authorization: Bearer <key>``; the sha256 of the presented key must
  equal the stored hash of the primary or the secondary key (keys.json).
- token: ``Authorization: Bearer <JWT>`` signed by the workspace key (RS256
  or EdDSA, chosen by the public key's type, never by the token's header),
  with ``exp`` and ``aud`` = the endpoint's audience; verified offline with
  token_public_key.pem. Verified tokens are cached until they expire.

Both files are re-read as soon as they change (one stat per request), so a
regenerated key or a rotated workspace key takes effect on the next request
in every worker. Nothing here logs a credential.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

from slipway.core.errors import Unauthenticated
from slipway.serving.config import (
    KEYS_FILE,
    TOKEN_PUBLIC_KEY_FILE,
    EndpointConfig,
    FileWatch,
    read_key_hashes,
)

_TOKEN_CACHE_SIZE = 4096


class AuthError(Unauthenticated):
    """401 with the ``WWW-Authenticate`` header value to send."""

    def __init__(self, message: str, *, realm: str, error: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        challenge = f'Bearer realm="{realm}"'
        if error:
            challenge += f', error="{error}"'
        self.www_authenticate = challenge


class Authenticator:
    def __init__(self, config_dir: str | Path) -> None:
        root = Path(config_dir)
        self._keys_watch = FileWatch(root / KEYS_FILE)
        self._pem_watch = FileWatch(root / TOKEN_PUBLIC_KEY_FILE)
        self._hashes: tuple[bytes, ...] = ()
        self._public_keys: list[tuple[Any, str]] = []  # (key, algorithm), current first
        self._tokens: dict[str, float] = {}  # verified token -> exp
        self._accepted: set[bytes] = set()  # headers whose key matched the current keys.json

    def check(self, config: EndpointConfig, authorization: bytes | None) -> str:
        """Return who is calling ("key" / "token" / "anonymous") or raise AuthError."""
        if config.auth == "none":
            return "anonymous"
        if config.auth == "key":
            if self._keys_watch.changed():
                self._reload_keys()
            if authorization in self._accepted:  # seen and verified since keys.json changed
                return "key"
            self._check_key(_bearer(authorization, config.name, "key"), config.name)
            if len(self._accepted) < 64 and authorization is not None:
                self._accepted.add(authorization)
            return "key"
        credential = _bearer(authorization, config.name, config.auth)
        self._check_token(credential, config)
        return "token"

    def _reload_keys(self) -> None:
        self._accepted.clear()
        self._hashes = tuple(h.encode() for h in read_key_hashes(self._keys_watch.path.parent)
                             .values())

    def _check_key(self, key: str, realm: str) -> None:
        presented = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest().encode()
        ok = False
        for stored in self._hashes:  # compare with every slot: no early exit to time
            ok |= hmac.compare_digest(presented, stored)
        if not ok:
            raise AuthError("the key is not valid for this endpoint", realm=realm,
                            error="invalid_token",
                            hint="use the endpoint's primary or secondary key; "
                                 "a regenerated key replaces the old one")

    def _check_token(self, token: str, config: EndpointConfig) -> None:
        if self._pem_watch.changed():
            self._load_public_key()
        now = time.time()
        exp = self._tokens.get(token)
        if exp is not None and now < exp + config.token_leeway_s:
            return
        if not self._public_keys:
            raise AuthError("this endpoint has no public key to verify tokens", realm=config.name,
                            error="invalid_token",
                            hint=f"the control plane must write {TOKEN_PUBLIC_KEY_FILE}")
        claims = self._verify(token, config)
        if len(self._tokens) >= _TOKEN_CACHE_SIZE:
            self._tokens.clear()
        self._tokens[token] = float(claims["exp"])

    def _verify(self, token: str, config: EndpointConfig) -> dict[str, Any]:
        import jwt

        error: AuthError | None = None
        for key, algorithm in self._public_keys:  # current key first, then keys being retired
            try:
                return dict(jwt.decode(token, key, algorithms=[algorithm],
                                       audience=config.audience, issuer=config.token_issuer,
                                       leeway=config.token_leeway_s,
                                       options={"require": ["exp", "aud"]}))
            except jwt.InvalidSignatureError as exc:
                error = AuthError(f"the token is not valid: {exc}", realm=config.name,
                                  error="invalid_token")
            except jwt.ExpiredSignatureError:
                raise AuthError("the token has expired", realm=config.name, error="invalid_token",
                                hint="get a new token from the workspace") from None
            except jwt.InvalidAudienceError:
                raise AuthError(f"the token is not for this endpoint (audience must be "
                                f"{config.audience!r})", realm=config.name,
                                error="invalid_token") from None
            except jwt.PyJWTError as exc:
                error = AuthError(f"the token is not valid: {exc}", realm=config.name,
                                  error="invalid_token")
        assert error is not None
        raise error

    def _load_public_key(self) -> None:
        """token_public_key.pem may hold several PEM public keys: the current one first,
        then keys being rotated out whose tokens have not expired yet."""
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        self._tokens.clear()
        self._public_keys = []
        path = self._pem_watch.path
        if not path.is_file():
            return
        marker = b"-----BEGIN PUBLIC KEY-----"
        for block in path.read_bytes().split(marker)[1:]:
            key = load_pem_public_key(marker + block)
            if isinstance(key, rsa.RSAPublicKey):
                self._public_keys.append((key, "RS256"))
            elif isinstance(key, ed25519.Ed25519PublicKey):
                self._public_keys.append((key, "EdDSA"))


def _bearer(authorization: bytes | None, realm: str, mode: str) -> str:
    what = "key" if mode == "key" else "token"
    if not authorization:
        raise AuthError(f"this endpoint needs a {what}", realm=realm,
                        hint=f"send the header Authorization: Bearer <{what}>")
    scheme, _, credential = authorization.decode("latin-1").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise AuthError(f"send the {what} as Authorization: Bearer <{what}>", realm=realm,
                        error="invalid_request")
    return credential
