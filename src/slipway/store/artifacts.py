"""Content-addressed artifact store on the local file system.

Files live at ``objects/<sha[:2]>/<sha><suffix>``, are written to a staging
folder first and moved into place atomically, and are checked against their
recorded sha256 when loaded. Identical content is stored once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from slipway.core.errors import IntegrityError, NotFound

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(root: str | Path) -> str:
    """Hash of a folder: its files' relative paths and contents, in order."""
    digest = hashlib.sha256()
    base = Path(root)
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(base).as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredArtifact:
    key: str  # path relative to the store root, what the database records
    sha256: str
    size_bytes: int
    created: bool  # False when identical content was already stored


class ArtifactStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @contextmanager
    def staging(self, suffix: str = "") -> Iterator[Path]:
        """A temporary path inside the store (same file system, so the final
        move is atomic). Removed afterwards unless it was committed."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        path = tmp / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            if path.exists():
                path.unlink()

    def commit(self, staged: Path, suffix: str = "") -> StoredArtifact:
        sha = sha256_file(staged)
        key = f"objects/{sha[:2]}/{sha}{suffix}"
        final = self.root / key
        size = staged.stat().st_size
        if final.exists():
            staged.unlink()
            return StoredArtifact(key=key, sha256=sha, size_bytes=size, created=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        return StoredArtifact(key=key, sha256=sha, size_bytes=size, created=True)

    def commit_dir(self, staged: Path) -> StoredArtifact:
        """Store a folder (e.g. a model directory) under its tree hash."""
        sha = sha256_tree(staged)
        key = f"objects/{sha[:2]}/{sha}.d"
        final = self.root / key
        size = sum(p.stat().st_size for p in staged.rglob("*") if p.is_file())
        if final.exists():
            shutil.rmtree(staged)
            return StoredArtifact(key=key, sha256=sha, size_bytes=size, created=False)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        return StoredArtifact(key=key, sha256=sha, size_bytes=size, created=True)

    @contextmanager
    def staging_dir(self) -> Iterator[Path]:
        with self.staging() as path:
            path.mkdir()
            try:
                yield path
            finally:
                if path.exists():
                    shutil.rmtree(path)

    def path(self, key: str, sha256: str | None = None) -> Path:
        """Resolve a key to a local path, verifying the content hash if given."""
        final = self.root / key
        if not final.exists():
            raise NotFound(f"artifact {key} is missing from {self.root}",
                           hint="the workspace's artifacts folder was moved or pruned")
        actual = (sha256_tree(final) if final.is_dir() else sha256_file(final)) if sha256 else None
        if sha256 is not None and actual != sha256:
            raise IntegrityError(f"artifact {key} does not match its recorded sha256",
                                 hint="the file was modified on disk; restore it from backup")
        return final

    def discard(self, key: str) -> None:
        """Remove an artifact this process just created (used to roll back)."""
        target = self.root / key
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
