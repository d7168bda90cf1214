from __future__ import annotations

from pathlib import Path

import pytest

from slipway.core.errors import IntegrityError, NotFound
from slipway.store.artifacts import ArtifactStore, sha256_file


def _put(store: ArtifactStore, content: bytes):  # type: ignore[no-untyped-def]
    with store.staging(".bin") as staged:
        staged.write_bytes(content)
        return store.commit(staged, ".bin")


def test_identical_content_is_stored_once(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    first, second = _put(store, b"abc"), _put(store, b"abc")
    assert first.key == second.key and first.created and not second.created
    assert sha256_file(store.path(first.key)) == first.sha256
    assert list((tmp_path / "tmp").iterdir()) == []


def test_tampered_artifact_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stored = _put(store, b"model bytes")
    store.path(stored.key).write_bytes(b"evil bytes")
    with pytest.raises(IntegrityError):
        store.path(stored.key, stored.sha256)


def test_missing_artifact_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        ArtifactStore(tmp_path).path("objects/aa/nothing.bin")


def test_staging_is_cleaned_when_not_committed(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(RuntimeError), store.staging() as staged:
        staged.write_bytes(b"half")
        raise RuntimeError("boom")
    assert list((tmp_path / "tmp").iterdir()) == []
