"""The README's first command: the whole path on built-in sample data."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from slipway_cli import slipway, slipway_json


def test_quickstart_goes_from_data_to_a_scored_endpoint(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    proc = slipway(ws, "quickstart", "--rows", "3000", "--timeout", "45s", "--requests", "100",
                   timeout=900)
    out = proc.stdout
    for step in ("1. Data", "2. Automated ML", "3. Register", "4. Deploy", "5. Score",
                 "6. Benchmark", "slipway endpoints delete bank-endpoint"):
        assert step in out, out
    endpoint = slipway_json(ws, "endpoints", "show", "bank-endpoint")
    assert endpoint["state"] == "Healthy" and endpoint["auth_mode"] == "key"
    assert endpoint["scoring_uri"] in out
    key = slipway_json(ws, "endpoints", "keys", "bank-endpoint")["primary_key"]
    model = slipway_json(ws, "models", "show", "bank-model")
    body = {"data": model["signature"]["example"]}
    scored = httpx.post(endpoint["scoring_uri"], json=body, timeout=30,
                        headers={"Authorization": f"Bearer {key}"})
    assert scored.status_code == 200 and len(scored.json()["result"]) == 2
    assert "duration" not in [c["name"] for c in model["signature"]["inputs"]]
    assert json.loads(json.dumps(model["lineage"]))["dataset"] == "bankmarketing-sample"
    slipway(ws, "endpoints", "delete", "bank-endpoint")
