"""Finding the workspace: explicit path or URL, ``SLIPWAY_WORKSPACE``, a config
file found walking up from the current folder, then ``~/.slipway``.

A workspace is a folder (local), an ``http(s)://`` server URL (remote), or a
metadata database URL (``sqlite:///``, ``postgresql://``,
``postgresql+psycopg://``): local too, its folder is the one the database
records. A config file holds ``{"workspace": "<folder or URL>"}`` or
``{"url": "<server>"}``."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from slipway.core.errors import InvalidInput
from slipway.settings import default_workspace, is_database_url

CONFIG_NAMES = ("slipway.json", "config.json", ".slipway/config.json")


def is_url(value: str | Path | None) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class DatabaseTarget:
    """A workspace named by its metadata database's URL."""

    url: str

    def __str__(self) -> str:
        from slipway.store.db import safe_url

        return safe_url(self.url)


Target = Path | str | DatabaseTarget


def _url_target(value: str) -> str | DatabaseTarget | None:
    """A server or database URL target; None for a path; refuses other schemes."""
    if is_url(value):
        return value.rstrip("/")
    if is_database_url(value):
        return DatabaseTarget(value)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme:
        raise InvalidInput(f"{scheme.group(1)}:// is not a kind of workspace Slipway knows",
                           hint="pass a folder, a server URL (http(s)://) or a database URL "
                                "(sqlite:///PATH, postgresql+psycopg://USER@HOST/DB)")
    return None


def _from_config_file(path: Path) -> Target | None:
    """The workspace (folder or URL) a config file names, or None if the file is not ours."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "slipway-workspace":  # the workspace's own manifest
        return path.parent
    if isinstance(data.get("workspace"), str):
        url = _url_target(data["workspace"])
        if url is not None:
            return url
        return (path.parent / data["workspace"]).expanduser().resolve()
    if is_url(data.get("url")):
        return str(data["url"]).rstrip("/")
    return None


def find_config(start: Path | None = None) -> Path | None:
    """Walk up from ``start`` (default: cwd) to the first Slipway config file."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file() and _from_config_file(candidate) is not None:
                return candidate
    return None


def resolve_target(explicit: str | Path | None = None, *, login_default: bool = True) -> Target:
    """The workspace to open: a folder, a server URL (a ``str``) for a remote
    one, or a database URL (a ``DatabaseTarget``). Looked for in this order:
    ``explicit``, SLIPWAY_WORKSPACE, a config file walking up from the current
    folder, the server of the last ``slipway login`` (unless ``login_default``
    is False), then ``~/.slipway``."""
    if explicit:
        url = _url_target(explicit) if isinstance(explicit, str) else None
        if url is not None:
            return url
        path = Path(explicit).expanduser()
        if path.is_file():
            workspace = _from_config_file(path)
            if workspace is None:
                raise InvalidInput(f"{path} is not a Slipway config file",
                                   hint='it should hold {"workspace": "<folder>"} or '
                                        '{"url": "<server URL>"}')
            return workspace
        return path.resolve()
    env = os.environ.get("SLIPWAY_WORKSPACE")
    if env:
        return _url_target(env) or Path(env).expanduser().resolve()
    found = find_config()
    if found is not None:
        workspace = _from_config_file(found)
        assert workspace is not None
        return workspace
    if login_default:
        from slipway.client.auth import TokenCache

        signed_in = TokenCache().default_url()
        if signed_in is not None:
            return signed_in
    return default_workspace()


def resolve_workspace(explicit: str | Path | None = None) -> Path:
    """The local workspace folder (a server URL is refused: it has no folder here)."""
    target = resolve_target(explicit, login_default=False)
    if isinstance(target, str):
        raise InvalidInput(f"{target} is a server URL; this needs a local workspace folder",
                           code="remote_workspace",
                           hint="run this on the server's machine with --workspace FOLDER")
    if isinstance(target, DatabaseTarget):
        raise InvalidInput(f"{target} is a database URL; this needs the workspace folder",
                           code="database_workspace",
                           hint=f"pass --workspace FOLDER with SLIPWAY_DATABASE_URL={target}")
    return target


def write_config(folder: Path, workspace: Path) -> Path:
    """Write ``slipway.json`` in ``folder`` pointing at ``workspace``."""
    target = folder / "slipway.json"
    try:
        relative = os.path.relpath(workspace, folder)
    except ValueError:
        relative = str(workspace)
    target.write_text(json.dumps({"workspace": relative}, indent=2) + "\n")
    return target
