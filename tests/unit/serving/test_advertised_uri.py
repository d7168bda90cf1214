"""An endpoint bound to every interface advertises a name clients can reach."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from slipway.core.entities import Endpoint
from slipway.core.net import advertised_host, http_url


def _endpoint(host: str) -> Endpoint:
    now = datetime.now(UTC)
    return Endpoint(name="bank", model_name="bank-model", model_version=2, state="Healthy",
                    desired_running=True, auth_mode="key", host=host, port=5001, workers=1,
                    monitoring=False, pid=None, error=None, created_at=now, updated_at=now)


def test_a_specific_bind_address_is_advertised_as_is() -> None:
    assert _endpoint("127.0.0.1").scoring_uri == "http://127.0.0.1:5001/score"
    assert _endpoint("10.1.2.3").swagger_uri == "http://10.1.2.3:5001/swagger.json"
    assert http_url("::1", 80) == "http://[::1]:80"


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_a_wildcard_bind_advertises_the_public_host(wildcard: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPWAY_PUBLIC_HOST", "ml.example.com")
    endpoint = _endpoint(wildcard)
    assert endpoint.scoring_uri == "http://ml.example.com:5001/score"
    # What a remote client rebuilds from the API's answer keeps that name.
    again = Endpoint.from_dict(endpoint.to_dict())
    assert again.scoring_uri == "http://ml.example.com:5001/score"


def test_without_a_public_host_a_wildcard_bind_advertises_this_machine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLIPWAY_PUBLIC_HOST", raising=False)
    name = advertised_host("0.0.0.0")
    assert name not in ("0.0.0.0", "", "localhost")
    assert name in (socket.getfqdn(), socket.gethostname())
    assert _endpoint("0.0.0.0").base_uri == f"http://{name}:5001"
