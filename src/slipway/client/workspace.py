"""The ``Workspace``: the SDK's entry point, over a local workspace (services
called in-process) or a Slipway server (the HTTP API) with the same calls."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from slipway.client.auth import Authentication, default_authentication
from slipway.client.config import DatabaseTarget, resolve_target
from slipway.client.datasets import Datasets, RemoteDatasets
from slipway.client.endpoints import Endpoints, RemoteEndpoints
from slipway.client.experiments import Experiments, RemoteExperiments
from slipway.client.identities import Identities, RemoteIdentities
from slipway.client.models import Models, RemoteModels
from slipway.client.runs import RemoteRuns, Runs
from slipway.core.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

    from slipway.client.http import Http
    from slipway.services.workspace import WorkspaceContext


class Workspace:
    """A local workspace (a folder, or the URL of its metadata database) or a
    remote one (a Slipway server's URL).

    >>> ws = Workspace("./ws")
    >>> ws = Workspace.from_config()   # SLIPWAY_WORKSPACE, or slipway.json walking up from cwd
    >>> ws = Workspace("postgresql+psycopg://slipway@db/slipway")  # the folder it records
    >>> ws = Workspace("postgresql+psycopg://slipway@db/slipway", root="/mnt/ws")  # mounted here
    >>> ws = Workspace("http://127.0.0.1:8765")   # credentials: see slipway.client.auth
    >>> ws = Workspace("https://slipway.example.com",
    ...                auth=ServicePrincipalAuthentication(client_id, client_secret))
    """

    datasets: Datasets | RemoteDatasets
    experiments: Experiments | RemoteExperiments
    runs: Runs | RemoteRuns
    models: Models | RemoteModels
    endpoints: Endpoints | RemoteEndpoints
    identities: Identities | RemoteIdentities

    def __init__(self, path: str | Path | None = None, *, init: bool = False,
                 auth: Authentication | None = None,
                 http_transport: httpx.BaseTransport | None = None,
                 root: str | Path | None = None) -> None:
        target = resolve_target(path)
        self._http: Http | None = None
        self._local: WorkspaceContext | None = None
        self._database: DatabaseTarget | None = None
        if root is not None and not isinstance(target, DatabaseTarget):
            raise InvalidInput(f"root= is for a workspace named by its database URL, not {target}",
                               hint="pass the folder itself as the workspace")
        if isinstance(target, str):
            if init:
                raise InvalidInput(f"{target} is a server: its workspace already exists",
                                   hint="`slipway init` takes a folder")
            self._open_remote(target, auth or default_authentication(), http_transport)
        elif isinstance(target, DatabaseTarget):
            if init:
                raise InvalidInput(f"{target} is a database URL; `slipway init` takes a folder",
                                   hint=f"SLIPWAY_DATABASE_URL={target} slipway init FOLDER")
            from slipway.services.workspace import open_database_workspace

            self._database = target
            self._use_local(open_database_workspace(target.url, root=root))
        else:
            self._open_local(target, init)

    def _open_local(self, folder: Path, init: bool) -> None:
        from slipway.services.workspace import open_workspace
        from slipway.settings import Settings

        settings = Settings.from_env(workspace=folder)
        self._use_local(open_workspace(settings, init=init))

    def _use_local(self, ctx: WorkspaceContext) -> None:
        self._local = ctx
        self.datasets = Datasets(ctx)
        runs = Runs(ctx)
        self.runs = runs
        self.experiments = Experiments(ctx, runs)
        endpoints = Endpoints(ctx)
        self.endpoints = endpoints
        self.models = Models(ctx, endpoints)
        self.identities = Identities(ctx)

    def _open_remote(self, url: str, auth: Authentication,
                     transport: httpx.BaseTransport | None) -> None:
        from slipway.client.http import Http

        self._http = http = Http(url, auth, transport=transport)
        self.datasets = RemoteDatasets(http)
        runs = RemoteRuns(http)
        self.runs = runs
        self.experiments = RemoteExperiments(http, runs)
        endpoints = RemoteEndpoints(http)
        self.endpoints = endpoints
        self.models = RemoteModels(http, endpoints)
        self.identities = RemoteIdentities(http)

    @classmethod
    def from_config(cls, path: str | Path | None = None, *,
                    auth: Authentication | None = None) -> Workspace:
        """Find the workspace: ``path`` (a folder, a URL or a config file), else
        ``SLIPWAY_WORKSPACE``, else a ``slipway.json`` / ``config.json`` holding
        ``{"workspace": ...}`` or ``{"url": ...}`` found walking up from the
        current folder, else ``~/.slipway``."""
        return cls(path, auth=auth)

    @property
    def _ctx(self) -> WorkspaceContext:
        """The services' context of a local workspace (the CLI's worker, tests)."""
        if self._local is None:
            raise InvalidInput("this needs a local workspace folder, not a server URL",
                               code="remote_workspace",
                               hint="run it on the server's machine with --workspace FOLDER")
        return self._local

    @property
    def is_remote(self) -> bool:
        return self._http is not None

    @property
    def url(self) -> str | None:
        """The server's URL (None for a local workspace)."""
        return self._http.url if self._http is not None else None

    @property
    def path(self) -> Path:
        if self._http is not None:
            raise InvalidInput(f"the workspace at {self._http.url} is remote: it has no local "
                               "folder", code="remote_workspace", hint="use ws.url")
        return self._ctx.settings.workspace

    @property
    def database_url(self) -> str:
        if self._http is not None:
            raise InvalidInput(f"the workspace at {self._http.url} is remote: its database "
                               "is the server's", code="remote_workspace", hint="use ws.url")
        return self._ctx.settings.db_url

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        else:
            self._ctx.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = self._http.url if self._http else self._database or self.path
        return f"Workspace({str(shown)!r})"
