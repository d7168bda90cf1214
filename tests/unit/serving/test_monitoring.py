"""Per-minute summaries from the request log, /metrics, and the monitoring toggle."""

from __future__ import annotations

from pathlib import Path

import orjson

from slipway.core.model_dir import read_signature
from slipway.serving.config import update_endpoint_config
from slipway.serving.monitoring import summarize

from .conftest import PRIMARY_KEY, MakeClient


def test_summarize_counts_per_minute(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    lines = []
    for i in range(100):
        lines.append({"ts": 1_800_000_000.0 + i, "path": "/score", "status": 200 if i % 10 else 500,
                      "latency_ms": float(i + 1), "rows": 2})
    lines.append({"ts": 1_800_000_001.0, "path": "/", "status": 200, "latency_ms": 0.1, "rows": 0})
    log.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines) + b'{"partial')
    minutes = summarize(log)
    assert [m.requests for m in minutes] == [60, 40]
    first = minutes[0]
    assert first.minute == "2027-01-15T08:00:00Z"
    assert first.failures == 6 and first.server_errors == 6 and first.rows == 120
    assert first.p50_ms == 30.5 and first.p99_ms is not None and first.p95_ms is not None
    assert first.p50_ms <= first.p95_ms <= first.p99_ms
    assert sum(m.requests for m in summarize(log, scoring_only=False)) == 101
    assert summarize(log, since=1_800_000_060.0)[0].requests == 40


def test_metrics_follow_the_monitoring_toggle(make_client: MakeClient,
                                              bank_model_dir: Path) -> None:
    client = make_client(auth="key", monitoring=False)
    auth = {"authorization": f"Bearer {PRIMARY_KEY}"}
    off = client.get("/metrics", headers=auth)
    assert off.status_code == 404 and off.json()["error"]["code"] == "monitoring_off"
    update_endpoint_config(client.app.config_dir, monitoring=True)
    example = read_signature(bank_model_dir).example
    for _ in range(3):
        client.post("/score", json={"data": example}, headers=auth)
    client.post("/score", json={"data": []}, headers=auth)
    assert client.get("/metrics").status_code == 401
    text = client.get("/metrics", headers=auth).text
    assert 'slipway_requests_total{endpoint="bank-endpoint",route="score",status="200"} 3' in text
    assert 'slipway_scoring_failures_total{endpoint="bank-endpoint"} 1' in text
    assert 'slipway_scored_rows_total{endpoint="bank-endpoint"} 6' in text
    assert 'slipway_scoring_latency_ms_count{endpoint="bank-endpoint"} 4' in text
    assert 'le="+Inf"} 4' in text
    update_endpoint_config(client.app.config_dir, monitoring=False)
    assert client.get("/metrics", headers=auth).status_code == 404
