"""Every ``SLIPWAY_*`` environment variable, in one typed place."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

#: Database URLs accepted where a workspace is (``--workspace``, SLIPWAY_WORKSPACE,
#: ``Workspace(...)``): the database names the workspace folder it belongs to.
DATABASE_URL = re.compile(r"^(sqlite|postgresql(\+psycopg)?)://", re.IGNORECASE)


def is_database_url(value: object) -> bool:
    return isinstance(value, str) and DATABASE_URL.match(value) is not None


def default_workspace() -> Path:
    return Path("~/.slipway").expanduser()

#: name -> what it does; `slipway --help` and the README list these.
ENVIRONMENT = {
    "SLIPWAY_WORKSPACE": "workspace folder, server URL or database URL (default ~/.slipway)",
    "SLIPWAY_WORKSPACE_ROOT": "with a database URL as the workspace: where its folder is "
                              "mounted on this machine, if not at the path the database records",
    "SLIPWAY_DATABASE_URL": "metadata database URL; default sqlite:///<workspace>/slipway.db",
    "SLIPWAY_TEST_POSTGRES_URL": "tests only: run the store tests against this PostgreSQL too",
    "SLIPWAY_SERVER_URL": "the control plane's public URL (default http://<host>:<port> of `slipway server`)",
    "SLIPWAY_PUBLIC_HOST": "this machine's name in advertised URLs when a server or endpoint binds "
                           "0.0.0.0 (default: its host name)",
    "SLIPWAY_MAX_UPLOAD_BYTES": "server: largest dataset upload accepted, in bytes (0 = no limit)",
    "SLIPWAY_MAX_REQUEST_BYTES": "server: largest other request body accepted, in bytes (default 1 MiB)",
}

DEFAULT_MAX_REQUEST_BYTES = 1 << 20


@dataclass(frozen=True)
class Settings:
    workspace: Path
    database_url: str = ""
    # Refuse files larger than this at registration (bytes); 0 means no limit.
    max_upload_bytes: int = 0
    http_timeout_s: float = 30.0
    # The control plane: its public URL (for --sdk-auth and links) and the
    # largest JSON or form body it reads (uploads have max_upload_bytes).
    server_url: str = ""
    # True when a worker loop (`slipway server`'s own, or `slipway worker`)
    # executes queued runs: submitting then only queues, it starts no process.
    queue_only: bool = False
    # Where endpoints deployed through the API listen when the request names no
    # host: `slipway server --host` sets it, so they are reachable where it is.
    endpoint_host: str = "127.0.0.1"
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.workspace / 'slipway.db'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.workspace / "artifacts"

    @classmethod
    def from_env(cls, workspace: str | Path | None = None,
                 env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        ws = workspace or env.get("SLIPWAY_WORKSPACE") or default_workspace()
        if is_database_url(ws):
            from slipway.core.errors import InvalidInput

            raise InvalidInput("a database URL names a workspace but is not its folder",
                               hint="open it with Workspace(url) or "
                                    "slipway.services.workspace.open_database_workspace(url)")
        return cls(workspace=Path(ws).expanduser().resolve(),
                   database_url=env.get("SLIPWAY_DATABASE_URL", ""),
                   server_url=env.get("SLIPWAY_SERVER_URL", ""),
                   max_upload_bytes=_bytes(env, "SLIPWAY_MAX_UPLOAD_BYTES", 0),
                   max_request_bytes=_bytes(env, "SLIPWAY_MAX_REQUEST_BYTES",
                                            DEFAULT_MAX_REQUEST_BYTES))


def _bytes(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        from slipway.core.errors import InvalidInput

        raise InvalidInput(f"{name}={raw!r} is not a whole number of bytes",
                           hint=f"e.g. {name}=1073741824 for 1 GiB")
    return int(raw)
