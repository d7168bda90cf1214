"""Opening a workspace: a folder with the metadata database (or a database
URL) and the artifact store."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from slipway.core.errors import InvalidInput
from slipway.settings import Settings
from slipway.store.artifacts import ArtifactStore
from slipway.store.datasets import DatasetStore
from slipway.store.db import create_db_engine, ensure_schema
from slipway.store.endpoints import EndpointStore
from slipway.store.identities import IdentityStore
from slipway.store.models import ModelStore
from slipway.store.runs import RunStore
from slipway.store.secrets import WorkspaceSecrets

MANIFEST = "slipway.json"


@dataclass
class WorkspaceContext:
    """Everything a service needs: built once, passed explicitly."""

    settings: Settings
    engine: Engine
    artifacts: ArtifactStore
    datasets: DatasetStore
    runs: RunStore
    models: ModelStore
    endpoints: EndpointStore
    secrets: WorkspaceSecrets
    workspace_id: str
    identities = cached_property(lambda self: IdentityStore(self.engine))

    def close(self) -> None:
        self.engine.dispose()


def _init_folder(root: Path, *, explicit: bool) -> str:
    manifest = root / MANIFEST
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        if data.get("kind") == "slipway-workspace":
            return str(data["workspace_id"])
        raise InvalidInput(f"{manifest} exists but is not a Slipway workspace manifest",
                           hint="choose another folder for the workspace")
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"workspace path {root} is a file, not a folder",
                           hint="pass a folder path with --workspace")
    if root.is_dir() and any(root.iterdir()) and not explicit:
        raise InvalidInput(f"{root} is not empty and is not a Slipway workspace",
                           hint=f"run `slipway init {root}` to make it one, or choose another folder")
    root.mkdir(parents=True, exist_ok=True)
    workspace_id = uuid.uuid4().hex
    manifest.write_text(json.dumps({
        "kind": "slipway-workspace", "workspace_id": workspace_id,
        "created_at": datetime.now(UTC).isoformat()}, indent=2) + "\n")
    return workspace_id


def open_workspace(settings: Settings, *, init: bool = False) -> WorkspaceContext:
    """Open (creating on first use) the workspace the settings name.

    ``init=True`` is `slipway init`: it may turn a non-empty folder into a
    workspace. The database schema is created when empty and refused when it
    is older or newer than this code.
    """
    workspace_id = _init_folder(settings.workspace, explicit=init)
    engine = create_db_engine(settings.db_url)
    try:
        ensure_schema(engine)
    except Exception:
        engine.dispose()
        raise
    return WorkspaceContext(settings=settings, engine=engine,
                            artifacts=ArtifactStore(settings.artifacts_dir),
                            datasets=DatasetStore(engine), runs=RunStore(engine),
                            models=ModelStore(engine), endpoints=EndpointStore(engine),
                            secrets=WorkspaceSecrets(settings.workspace / "secrets"),
                            workspace_id=workspace_id)
