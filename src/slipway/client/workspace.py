"""The ``Workspace``: the SDK's entry point."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from slipway.client.config import resolve_workspace
from slipway.client.datasets import Datasets
from slipway.client.endpoints import Endpoints
from slipway.client.experiments import Experiments
from slipway.client.identities import Identities
from slipway.client.models import Models
from slipway.client.runs import Runs
from slipway.services.workspace import WorkspaceContext, open_workspace
from slipway.settings import Settings


class Workspace:
    """A local workspace (a folder, or a database URL plus a folder for artifacts).

    >>> ws = Workspace("./ws")
    >>> ws = Workspace.from_config()   # SLIPWAY_WORKSPACE, or slipway.json walking up from cwd
    """

    def __init__(self, path: str | Path | None = None, *, init: bool = False) -> None:
        settings = Settings.from_env(workspace=resolve_workspace(path))
        self._ctx: WorkspaceContext = open_workspace(settings, init=init)
        self.datasets = Datasets(self._ctx)
        self.experiments = Experiments(self._ctx)
        self.runs = Runs(self._ctx)
        self.models = Models(self._ctx)
        self.endpoints = Endpoints(self._ctx)
        self.identities = Identities(self._ctx)

    @classmethod
    def from_config(cls, path: str | Path | None = None) -> Workspace:
        """Find the workspace: ``path`` (a folder or a config file), else
        ``SLIPWAY_WORKSPACE``, else a ``slipway.json`` / ``config.json`` holding
        ``{"workspace": ...}`` found walking up from the current folder, else
        ``~/.slipway``."""
        return cls(path)

    @property
    def path(self) -> Path:
        return self._ctx.settings.workspace

    @property
    def database_url(self) -> str:
        return self._ctx.settings.db_url

    def close(self) -> None:
        self._ctx.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"
