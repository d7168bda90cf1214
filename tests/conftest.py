"""Shared fixtures: an isolated environment, the real bank-marketing file,
and workspaces on every configured backend (SQLite always; PostgreSQL when
SLIPWAY_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BANK_CSV = ROOT.parent / "shared" / "data" / "bankmarketing" / "train.csv"
POSTGRES_URL = os.environ.get("SLIPWAY_TEST_POSTGRES_URL", "")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never touch the developer's ~/.slipway or their environment.
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    for var in [v for v in os.environ if v.startswith("SLIPWAY_") and v != "SLIPWAY_TEST_POSTGRES_URL"]:
        monkeypatch.delenv(var)


@pytest.fixture(scope="session")
def bank_csv() -> Path:
    """The real 26,361-row sample. Missing data fails the test: never a skip."""
    if not BANK_CSV.is_file():
        pytest.fail(f"real data missing: {BANK_CSV} (the shared/ folder must sit beside the checkout)")
    return BANK_CSV


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``one_backend`` (slow ones with real processes, where one
    backend says enough) keep only the team backend: PostgreSQL when it is
    configured, else SQLite."""
    keep = "postgres" if POSTGRES_URL else "sqlite"
    items[:] = [item for item in items if item.get_closest_marker("one_backend") is None
                or f"[{keep}" in item.nodeid]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty metadata database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def ws_path(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder whose metadata lives on the backend under test."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("SLIPWAY_DATABASE_URL", database_url)
    return tmp_path / "ws"


@pytest.fixture
def ws(ws_path: Path) -> Iterator[object]:
    from slipway import Workspace

    workspace = Workspace(ws_path)
    yield workspace
    workspace.close()
