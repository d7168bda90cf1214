"""``ws.endpoints`` and the ``Service`` handle ``model.deploy()`` returns."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.core.entities import Endpoint
from slipway.services import consume
from slipway.services import endpoints as service

if TYPE_CHECKING:
    from slipway.services.workspace import WorkspaceContext


class Service:
    """A deployed endpoint.

    >>> service = model.deploy(name="bank-endpoint", auth="key")
    >>> service.wait_for_deployment()
    >>> service.run(json.dumps({"data": rows}))
    """

    def __init__(self, ctx: WorkspaceContext, name: str) -> None:
        self._ctx = ctx
        self.name = name

    @property
    def entity(self) -> Endpoint:
        return service.get(self._ctx, self.name)

    state = property(lambda self: self.entity.state)
    scoring_uri = property(lambda self: self.entity.scoring_uri)
    swagger_uri = property(lambda self: self.entity.swagger_uri)

    def wait_for_deployment(self, show_output: bool = False, timeout_s: float = 180.0) -> str:
        endpoint = service.wait_ready(self._ctx, self.name, timeout_s)
        if show_output:
            print(f"{endpoint.name}: {endpoint.state} at {endpoint.scoring_uri}")
            if endpoint.error:
                print(endpoint.error)
        return endpoint.state

    def get_keys(self) -> tuple[str, str]:
        keys = service.get_keys(self._ctx, self.name)
        return keys["primary_key"], keys["secondary_key"]

    def regen_key(self, key: str) -> None:
        service.regen_key(self._ctx, self.name, key)

    def get_token(self) -> tuple[str, int]:
        """(access token, expiry as Unix time)."""
        token = service.get_token(self._ctx, self.name)
        return token["access_token"], token["expires_on"]

    def get_logs(self, tail: int = 100) -> str:
        records, _ = service.logs(self._ctx, self.name, tail)
        return "\n".join(json.dumps(r) for r in records)

    def update(self, *, enable_monitoring: bool | None = None, model: str | None = None,
               workers: int | None = None) -> None:
        service.update(self._ctx, self.name, monitoring=enable_monitoring, model=model,
                       workers=workers)

    def run(self, input_data: str | dict[str, Any]) -> Any:
        """Score: ``input_data`` is the JSON request body (a string or a dict)."""
        return consume.score(self._ctx, self.name, input_data)

    def delete(self) -> None:
        service.delete(self._ctx, self.name)

    def __repr__(self) -> str:
        return f"Service(name={self.name!r})"


class Endpoints:
    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def deploy(self, model: str, name: str, *, auth: str = "key", workers: int = 1,
               monitoring: bool = False, port: int | None = None, host: str = "127.0.0.1",
               wait: bool = True) -> Endpoint:
        return service.deploy(self._ctx, model, name, auth=auth, workers=workers,
                              monitoring=monitoring, port=port, host=host, wait=wait)

    def service(self, name: str) -> Service:
        service.get(self._ctx, name)
        return Service(self._ctx, name)

    def get(self, name: str) -> Endpoint:
        return service.get(self._ctx, name)

    def list(self) -> builtins.list[Endpoint]:
        return service.list_endpoints(self._ctx)

    def get_keys(self, name: str) -> dict[str, str]:
        return service.get_keys(self._ctx, name)

    def regen_key(self, name: str, which: str) -> dict[str, str]:
        return service.regen_key(self._ctx, name, which)

    def get_token(self, name: str) -> dict[str, Any]:
        return service.get_token(self._ctx, name)

    def update(self, name: str, *, monitoring: bool | None = None, model: str | None = None,
               workers: int | None = None) -> Endpoint:
        return service.update(self._ctx, name, monitoring=monitoring, model=model,
                              workers=workers)

    def start(self, name: str) -> Endpoint:
        return service.start(self._ctx, name)

    def start_all(self) -> builtins.list[Endpoint]:
        return service.start_all(self._ctx)

    def stop(self, name: str) -> Endpoint:
        return service.stop(self._ctx, name)

    def delete(self, name: str) -> None:
        service.delete(self._ctx, name)

    def logs(self, name: str, tail: int = 100) -> tuple[builtins.list[dict[str, Any]], int]:
        return service.logs(self._ctx, name, tail)

    def logs_since(self, name: str, offset: int) -> tuple[builtins.list[dict[str, Any]], int]:
        return service.logs_since(self._ctx, name, offset)

    def metrics(self, name: str, minutes: int = 60) -> builtins.list[dict[str, Any]]:
        return service.metrics(self._ctx, name, minutes)

    def score(self, name: str, payload: Any) -> Any:
        return consume.score(self._ctx, name, payload)

    def consume_files(self, name: str, to: str | Path) -> builtins.list[Path]:
        return consume.consume_files(self._ctx, name, Path(to))

    def benchmark(self, name: str, *, requests: int = 1000, concurrency: int = 8) -> dict[str, Any]:
        return consume.benchmark(self._ctx, name, requests=requests, concurrency=concurrency)
