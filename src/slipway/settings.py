"""Every ``SLIPWAY_*`` environment variable, in one typed place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_workspace() -> Path:
    return Path("~/.slipway").expanduser()

#: name -> what it does; `slipway --help` and the README list these.
ENVIRONMENT = {
    "SLIPWAY_WORKSPACE": "workspace folder (default ~/.slipway)",
    "SLIPWAY_DATABASE_URL": "metadata database URL; default sqlite:///<workspace>/slipway.db",
    "SLIPWAY_TEST_POSTGRES_URL": "tests only: run the store tests against this PostgreSQL too",
}


@dataclass(frozen=True)
class Settings:
    workspace: Path
    database_url: str = ""
    # Refuse files larger than this at registration (bytes); 0 means no limit.
    max_upload_bytes: int = 0
    http_timeout_s: float = 30.0
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
        return cls(workspace=Path(ws).expanduser().resolve(),
                   database_url=env.get("SLIPWAY_DATABASE_URL", ""))
