"""Workspace secrets on disk (mode 0600, under ``<workspace>/secrets/``): the
key that encrypts endpoint keys at rest, and the key pairs that sign tokens.
Created on first use.

Token signing keys rotate: ``token_signing_key.pem`` is the current private
key (it signs everything new); ``rotate_signing_key`` replaces it and moves
the old key's *public* half to ``token_signing_previous.json`` with a
``verify_until`` time, so tokens it signed keep verifying until they expire.
Old private keys are not kept: nothing may sign with them again."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slipway.core.errors import SlipwayError

FERNET_FILE = "fernet.key"
SIGNING_FILE = "token_signing_key.pem"
PREVIOUS_KEYS_FILE = "token_signing_previous.json"
ROTATE_LOCK_FILE = ".rotate.lock"
TOKEN_ALGORITHM = "EdDSA"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        # Fails if another process created it first: keep theirs.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _replace_private(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` (readers see the old or the new file, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _public_pem(private_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _kid(public_pem: bytes) -> str:
    return hashlib.sha256(public_pem).hexdigest()[:16]


def _jwk(kid: str, public_key: Any) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64(raw), "kid": kid, "alg": "EdDSA",
                "use": "sig"}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"kty": "RSA", "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                "e": b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
                "kid": kid, "alg": "RS256", "use": "sig"}
    raise TypeError(f"unsupported signing key type {type(public_key).__name__}")


def _algorithm(public_key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return "RS256" if isinstance(public_key, rsa.RSAPublicKey) else TOKEN_ALGORITHM


class WorkspaceSecrets:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _fernet(self) -> Any:
        from cryptography.fernet import Fernet

        path = self.root / FERNET_FILE
        if not path.is_file():
            _write_private(path, Fernet.generate_key())
        return Fernet(path.read_bytes())

    def encrypt(self, text: str) -> str:
        return str(self._fernet().encrypt(text.encode()).decode())

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return str(self._fernet().decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise SlipwayError("a stored secret cannot be decrypted with this workspace's key",
                               code="secret_unreadable",
                               hint="secrets/fernet.key was replaced; regenerate the keys") from exc

    def signing_key(self) -> Any:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = self.root / SIGNING_FILE
        if not path.is_file():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
            _write_private(path, pem)
        return serialization.load_pem_private_key(path.read_bytes(), password=None)

    def public_key_pem(self) -> bytes:
        """The current signing key's public half (what endpoints verify with)."""
        return _public_pem(self.signing_key())

    def key_id(self) -> str:
        return _kid(self.public_key_pem())

    def verification_pems(self) -> bytes:
        """What an endpoint verifies tokens with: the current public key first, then
        each retired key still within its ``verify_until``, as concatenated PEMs."""
        current = self.public_key_pem()
        retired = [e["public_pem"].encode() for e in self._unexpired(self._previous(),
                                                                     datetime.now(UTC))]
        return b"".join([current, *(pem for pem in retired if pem != current)])

    def sign(self, claims: dict[str, Any]) -> str:
        import jwt

        # Load the key once: a rotation between two reads would pair a kid with the wrong key.
        key = self.signing_key()
        return str(jwt.encode(claims, key, algorithm=_algorithm(key.public_key()),
                              headers={"kid": _kid(_public_pem(key))}))

    def rotate_signing_key(self, *, verify_previous_for: timedelta) -> str:
        """Make a new current signing key; the old public key keeps verifying for
        ``verify_previous_for`` (the longest lifetime of a token it signed).
        Returns the new key id."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        with self._rotation_lock():
            now = datetime.now(UTC)
            old_pem = self.public_key_pem()
            kept = [k for k in self._previous() if k["kid"] != _kid(old_pem)]
            kept.append({"kid": _kid(old_pem), "public_pem": old_pem.decode(),
                         "retired_at": now.isoformat(),
                         "verify_until": (now + verify_previous_for).isoformat()})
            # The old public key is published before the new key signs anything, so
            # at no moment is a valid token without its verification key.
            _replace_private(self.root / PREVIOUS_KEYS_FILE,
                             json.dumps({"keys": self._unexpired(kept, now)}, indent=2).encode())
            new = Ed25519PrivateKey.generate()
            _replace_private(self.root / SIGNING_FILE, new.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
            return _kid(_public_pem(new))

    def verification_keys(self) -> dict[str, Any]:
        """kid -> public key, for the current key and every previous key still
        within its ``verify_until``."""
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        # Current key first, then the retired ones: a rotation between the two reads
        # then adds a key (still valid) instead of hiding the one just retired.
        current = self.signing_key()
        keys: dict[str, Any] = {}
        for entry in self._unexpired(self._previous(), datetime.now(UTC)):
            keys[entry["kid"]] = load_pem_public_key(entry["public_pem"].encode())
        keys[_kid(_public_pem(current))] = current.public_key()
        return keys

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set of ``/.well-known/jwks.json``: every key a valid
        token may be signed with, the current one first."""
        keys = self.verification_keys()
        current = self.key_id()
        order = [current, *sorted(k for k in keys if k != current)]
        return {"keys": [_jwk(kid, keys[kid]) for kid in order if kid in keys]}

    def _previous(self) -> list[dict[str, str]]:
        path = self.root / PREVIOUS_KEYS_FILE
        if not path.is_file():
            return []
        return list(json.loads(path.read_text())["keys"])

    @staticmethod
    def _unexpired(entries: list[dict[str, str]], now: datetime) -> list[dict[str, str]]:
        return [e for e in entries if datetime.fromisoformat(e["verify_until"]) > now]

    @contextlib.contextmanager
    def _rotation_lock(self) -> Iterator[None]:
        # Two concurrent rotations must not each drop the other's retired key.
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / ROTATE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: rotation is an admin's single act
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
