"""The endpoint's config directory: what the control plane writes, what workers re-read.

```
<config-dir>/
  endpoint.json          EndpointConfig (name, auth mode, monitoring, limits), JSON
  keys.json              {"primary": {"sha256": hex}, "secondary": {"sha256": hex}}  (auth=key)
  token_public_key.pem   the workspace's public key(s), RSA or Ed25519 PEM        (auth=token)
                         (current first; append keys being rotated out until their
                         tokens expire)
```

Every file is replaced atomically (write a temporary file, then rename), so a
worker never reads half a file. Workers stat the files on every request and
re-read one when its (inode, mtime, size) changes: regenerating a key or
turning monitoring off reaches every worker on its next request, without a
restart. Only hashes of keys are stored; the keys themselves are shown once
by the control plane and never written here.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from slipway.core.errors import InvalidInput

ENDPOINT_FILE = "endpoint.json"
KEYS_FILE = "keys.json"
TOKEN_PUBLIC_KEY_FILE = "token_public_key.pem"

AUTH_MODES = ("key", "token", "none")


@dataclass(frozen=True)
class EndpointConfig:
    """Settings of one scoring endpoint. Unknown keys in endpoint.json are ignored,
    missing keys take these defaults."""

    name: str = "endpoint"
    auth: str = "key"  # key | token | none
    monitoring: bool = False
    max_rows: int = 100_000  # more rows in one request -> 413
    max_body_bytes: int = 64 * 1024 * 1024  # larger bodies -> 413 before parsing
    body_timeout_s: float = 30.0  # a client that does not finish its body in time -> 408
    token_audience: str | None = None  # defaults to ``name``
    token_issuer: str | None = None  # checked when set
    token_leeway_s: float = 30.0
    fast_path: bool = True  # False forces the plain scikit-learn pipeline
    fast_path_check_every: int = 10_000  # re-check 1 request in N against the pipeline; 0 = never
    model: str | None = None  # the registered model it serves ("bank-model:1"), for /docs
    request_log_max_bytes: int = 64 * 1024 * 1024  # requests.jsonl rotates at this size; 0 = never
    request_log_backups: int = 3  # rotated files kept: requests.1.jsonl (newest) ...
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise InvalidInput(f"auth must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}",
                               hint=f"fix {ENDPOINT_FILE} in the endpoint's config directory")
        if self.max_rows < 1 or self.max_body_bytes < 1:
            raise InvalidInput("max_rows and max_body_bytes must be positive")
        if self.request_log_max_bytes < 0 or self.request_log_backups < 0:
            raise InvalidInput("request_log_max_bytes and request_log_backups must be 0 or more",
                               hint=f"fix {ENDPOINT_FILE} in the endpoint's config directory")

    @property
    def audience(self) -> str:
        return self.token_audience or self.name

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if not out["extra"]:
            del out["extra"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointConfig:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        kwargs = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        try:
            return cls(**kwargs, extra=extra)
        except TypeError as exc:
            raise InvalidInput(f"{ENDPOINT_FILE} is malformed: {exc}") from exc


def hash_key(key: str) -> str:
    """The form in which keys are stored and compared: hex sha256 of the UTF-8 key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_endpoint_config(config_dir: str | Path, config: EndpointConfig) -> Path:
    path = Path(config_dir) / ENDPOINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(config.to_dict(), indent=2).encode(), mode=0o644)
    return path


def read_endpoint_config(config_dir: str | Path) -> EndpointConfig:
    path = Path(config_dir) / ENDPOINT_FILE
    if not path.is_file():
        return EndpointConfig(name=Path(config_dir).resolve().name)
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a JSON object")
    return EndpointConfig.from_dict(data)


def update_endpoint_config(config_dir: str | Path, **changes: Any) -> EndpointConfig:
    """Change some settings of a (possibly running) endpoint, e.g. ``monitoring=True``."""
    config = replace(read_endpoint_config(config_dir), **changes)
    write_endpoint_config(config_dir, config)
    return config


def write_keys(config_dir: str | Path, *, primary: str | None = None,
               secondary: str | None = None) -> Path:
    """Store the sha256 of the given keys; a key passed as None keeps its stored hash.

    Regenerating the primary key is ``write_keys(d, primary=new_key)``: the old key
    stops working in every worker on its next request."""
    path = Path(config_dir) / KEYS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    current = read_key_hashes(config_dir)
    if primary is not None:
        current["primary"] = hash_key(primary)
    if secondary is not None:
        current["secondary"] = hash_key(secondary)
    body = {slot: {"sha256": digest} for slot, digest in current.items()}
    atomic_write(path, json.dumps(body, indent=2).encode())
    return path


def read_key_hashes(config_dir: str | Path) -> dict[str, str]:
    """{slot: sha256 hex} from keys.json; empty when the file is absent."""
    path = Path(config_dir) / KEYS_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_bytes())
    out: dict[str, str] = {}
    for slot in ("primary", "secondary"):
        entry = data.get(slot)
        if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
            out[slot] = entry["sha256"].lower()
    return out


def write_token_public_key(config_dir: str | Path, pem: bytes) -> Path:
    path = Path(config_dir) / TOKEN_PUBLIC_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, pem, mode=0o644)
    return path


class FileWatch:
    """Tells whether a file changed since the last call, at the cost of one stat()."""

    __slots__ = ("_path", "_stamp")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int, int] | None = None

    @property
    def path(self) -> Path:
        return self._path

    def changed(self) -> bool:
        try:
            st = os.stat(self._path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0, -1)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True
