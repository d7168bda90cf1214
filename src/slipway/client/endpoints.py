"""``ws.endpoints`` (local ``Endpoints``, remote ``RemoteEndpoints``) and the
``Service`` handle ``model.deploy()`` returns. A remote workspace scores by
calling the endpoint itself, with the key or token the API hands out."""

from __future__ import annotations

import builtins
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slipway.core.entities import Endpoint, EndpointState
from slipway.services import consume
from slipway.services import endpoints as service

if TYPE_CHECKING:
    import pandas as pd

    from slipway.client.http import Http
    from slipway.services.workspace import WorkspaceContext

START_TIMEOUT_S = 180.0  # how long start_all waits for each endpoint, as the service does


def request_body(input_data: Any) -> Any:
    """A DataFrame becomes ``{"data": [row, ...]}`` (missing values as null, times as
    ISO 8601); a JSON string or a dict is the body as it is."""
    if hasattr(input_data, "to_json") and hasattr(input_data, "columns"):
        return {"data": json.loads(input_data.to_json(orient="records", date_format="iso"))}
    return input_data


class Service:
    """A deployed endpoint.

    >>> service = model.deploy(name="bank-endpoint", auth="key")
    >>> service.wait_for_deployment()
    >>> service.run(json.dumps({"data": rows}))
    """

    def __init__(self, endpoints: Endpoints | RemoteEndpoints, name: str) -> None:
        self._endpoints = endpoints
        self.name = name

    @property
    def entity(self) -> Endpoint:
        return self._endpoints.get(self.name)

    state = property(lambda self: self.entity.state)
    scoring_uri = property(lambda self: self.entity.scoring_uri)
    swagger_uri = property(lambda self: self.entity.swagger_uri)

    def wait_for_deployment(self, show_output: bool = False, timeout_s: float = 180.0) -> str:
        endpoint = self._endpoints.wait_ready(self.name, timeout_s)
        if show_output:
            print(f"{endpoint.name}: {endpoint.state} at {endpoint.scoring_uri}")
            if endpoint.error:
                print(endpoint.error)
        return endpoint.state

    def get_keys(self) -> tuple[str, str]:
        keys = self._endpoints.get_keys(self.name)
        return keys["primary_key"], keys["secondary_key"]

    def regen_key(self, key: str) -> None:
        self._endpoints.regen_key(self.name, key)

    def get_token(self) -> tuple[str, int]:
        """(access token, expiry as Unix time)."""
        token = self._endpoints.get_token(self.name)
        return token["access_token"], token["expires_on"]

    def get_logs(self, tail: int = 100) -> str:
        records, _ = self._endpoints.logs(self.name, tail)
        return "\n".join(json.dumps(r) for r in records)

    def update(self, *, enable_monitoring: bool | None = None, model: str | None = None,
               workers: int | None = None) -> None:
        self._endpoints.update(self.name, monitoring=enable_monitoring, model=model,
                               workers=workers)

    def run(self, input_data: str | dict[str, Any] | pd.DataFrame) -> Any:
        """Score: ``input_data`` is the JSON request body (a string or a dict), or a
        DataFrame of input rows (sent as ``{"data": [...]}``)."""
        return self._endpoints.score(self.name, request_body(input_data))

    def delete(self) -> None:
        self._endpoints.delete(self.name)

    def __repr__(self) -> str:
        return f"Service(name={self.name!r})"


class Endpoints:
    def __init__(self, ctx: WorkspaceContext) -> None:
        self._ctx = ctx

    def deploy(self, model: str, name: str, *, auth: str = "key", workers: int = 1,
               monitoring: bool = False, port: int | None = None, host: str | None = None,
               wait: bool = True) -> Endpoint:
        return service.deploy(self._ctx, model, name, auth=auth, workers=workers,
                              monitoring=monitoring, port=port, host=host or "127.0.0.1",
                              wait=wait)

    def service(self, name: str) -> Service:
        service.get(self._ctx, name)
        return Service(self, name)

    def get(self, name: str) -> Endpoint:
        return service.get(self._ctx, name)

    def wait_ready(self, name: str, timeout_s: float = 180.0) -> Endpoint:
        return service.wait_ready(self._ctx, name, timeout_s)

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
        """Start every endpoint that should be running and is not (after a reboot)."""
        return service.start_all(self._ctx, START_TIMEOUT_S)

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


class RemoteEndpoints:
    """``ws.endpoints`` of a remote workspace. Deploying and starting answer at
    once on the server; waiting for Healthy polls from here."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def _endpoint(self, data: dict[str, Any]) -> Endpoint:
        return Endpoint.from_dict(data)

    def deploy(self, model: str, name: str, *, auth: str = "key", workers: int = 1,
               monitoring: bool = False, port: int | None = None, host: str | None = None,
               wait: bool = True) -> Endpoint:
        """``host`` defaults to the address the server listens on."""
        body = {"model": model, "name": name, "auth": auth, "workers": workers,
                "monitoring": monitoring, "port": port, "host": host, "wait": False}
        endpoint = self._endpoint(self._http.post("/endpoints", body))
        return self.wait_ready(name) if wait else endpoint

    def service(self, name: str) -> Service:
        self.get(name)
        return Service(self, name)

    def get(self, name: str) -> Endpoint:
        return self._endpoint(self._http.get(f"/endpoints/{name}"))

    def wait_ready(self, name: str, timeout_s: float = 180.0) -> Endpoint:
        """Poll until Healthy or Failed (or ``timeout_s`` passes: then as it is)."""
        deadline = time.monotonic() + timeout_s
        while True:
            endpoint = self.get(name)
            if endpoint.state in (EndpointState.HEALTHY, EndpointState.FAILED) or \
                    time.monotonic() > deadline:
                return endpoint
            time.sleep(0.3)

    def list(self) -> builtins.list[Endpoint]:
        return [self._endpoint(e) for e in self._http.items("/endpoints")]

    def get_keys(self, name: str) -> dict[str, str]:
        keys: dict[str, str] = self._http.get(f"/endpoints/{name}/keys")
        return keys

    def regen_key(self, name: str, which: str) -> dict[str, str]:
        keys: dict[str, str] = self._http.post(f"/endpoints/{name}/regen-key", {"key": which})
        return keys

    def get_token(self, name: str) -> dict[str, Any]:
        token: dict[str, Any] = self._http.post(f"/endpoints/{name}/token")
        return token

    def update(self, name: str, *, monitoring: bool | None = None, model: str | None = None,
               workers: int | None = None) -> Endpoint:
        body = {k: v for k, v in (("monitoring", monitoring), ("model", model),
                                  ("workers", workers)) if v is not None}
        return self._endpoint(self._http.patch(f"/endpoints/{name}", body))

    def start(self, name: str) -> Endpoint:
        self._http.post(f"/endpoints/{name}/start", wait="false")
        return self.wait_ready(name)

    def start_all(self) -> builtins.list[Endpoint]:
        """Start every endpoint that should be running and is not; the server
        waits for each to be Healthy or Failed (up to 180 s) and answers them."""
        # The server waits for the endpoints one after another: wait as long here.
        waiting = START_TIMEOUT_S * max(1, len(self.list())) + 30
        answer = self._http.request("POST", "/endpoints/start-all",
                                    params={"timeout_s": START_TIMEOUT_S}, timeout=waiting)
        return [self._endpoint(e) for e in answer.json()["items"]]

    def stop(self, name: str) -> Endpoint:
        return self._endpoint(self._http.post(f"/endpoints/{name}/stop"))

    def delete(self, name: str) -> None:
        self._http.delete(f"/endpoints/{name}")

    def logs(self, name: str, tail: int = 100) -> tuple[builtins.list[dict[str, Any]], int]:
        answer = self._http.get(f"/endpoints/{name}/logs", tail=tail)
        return answer["items"], int(answer["offset"])

    def logs_since(self, name: str, offset: int) -> tuple[builtins.list[dict[str, Any]], int]:
        answer = self._http.get(f"/endpoints/{name}/logs", since=offset)
        return answer["items"], int(answer["offset"])

    def metrics(self, name: str, minutes: int = 60) -> builtins.list[dict[str, Any]]:
        return self._http.items(f"/endpoints/{name}/metrics", minutes=minutes)

    # -- calling the endpoint itself ------------------------------------------------------

    def _credential(self, endpoint: Endpoint) -> tuple[str, dict[str, Any] | None]:
        """(the secret to send, the token answer when it is a token)."""
        if endpoint.auth_mode == "key":
            return self.get_keys(endpoint.name)["primary_key"], None
        if endpoint.auth_mode == "token":
            token = self.get_token(endpoint.name)
            return str(token["access_token"]), token
        return "", None

    def _headers(self, endpoint: Endpoint) -> dict[str, str]:
        secret, _ = self._credential(endpoint)
        auth = {"Authorization": f"Bearer {secret}"} if secret else {}
        return {"Content-Type": "application/json", **auth}

    def _example(self, endpoint: Endpoint) -> dict[str, Any]:
        model = self._http.get(f"/models/{endpoint.model_name}/versions/"
                               f"{endpoint.model_version}")
        return {"data": (model.get("signature") or {}).get("example", [])}

    def score(self, name: str, payload: Any) -> Any:
        """POST a payload to the endpoint with its credentials; the JSON answer."""
        endpoint = self.get(name)
        return consume.post_score(endpoint, payload, self._headers(endpoint))

    def consume_files(self, name: str, to: str | Path) -> builtins.list[Path]:
        """Write endpoint.py, data.json and benchmark.sh that call the endpoint
        (the same files a local workspace writes)."""
        endpoint = self.get(name)
        secret, token = self._credential(endpoint)
        return consume.write_client_files(
            Path(to), name=name, scoring_uri=endpoint.scoring_uri, secret=secret,
            expires_at=token["expires_at"] if token is not None else None,
            payload=self._example(endpoint))

    def benchmark(self, name: str, *, requests: int = 1000, concurrency: int = 8) -> dict[str, Any]:
        """Load-test the endpoint from here with its example request."""
        endpoint = self.get(name)
        body = json.dumps(self._example(endpoint)).encode()
        return consume.load_test(endpoint.scoring_uri, body, self._headers(endpoint), requests,
                                 concurrency)
