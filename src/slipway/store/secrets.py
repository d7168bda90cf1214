"""Workspace secrets on disk (mode 0600, under ``<workspace>/secrets/``): the
key that encrypts endpoint keys at rest, and the key pair that signs tokens.
Created on first use."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from slipway.core.errors import SlipwayError

FERNET_FILE = "fernet.key"
SIGNING_FILE = "token_signing_key.pem"
TOKEN_ALGORITHM = "EdDSA"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    try:
        os.link(tmp, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


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
        from cryptography.hazmat.primitives import serialization

        return bytes(self.signing_key().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def key_id(self) -> str:
        return hashlib.sha256(self.public_key_pem()).hexdigest()[:16]

    def sign(self, claims: dict[str, Any]) -> str:
        import jwt

        return str(jwt.encode(claims, self.signing_key(), algorithm=TOKEN_ALGORITHM,
                              headers={"kid": self.key_id()}))
