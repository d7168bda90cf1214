"""Fixtures for tests that start real processes: the CLI as a subprocess,
scoring endpoints on real ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def module_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("ws") / "ws"
