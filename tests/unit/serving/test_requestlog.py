"""The request log rotates by size across workers without losing or splitting lines."""

from __future__ import annotations

from pathlib import Path

import orjson

from slipway.serving.monitoring import LogMetrics, summarize
from slipway.serving.requestlog import RequestLog, log_files, read_log, records_since, tail_records


def _write(log: RequestLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.write(request_id=f"r{i}", method="POST", path="/score", status=200,
                  latency_ms=1.0, rows=1, client="127.0.0.1:1")


def _ids(path: Path) -> list[str]:
    return [orjson.loads(line)["request_id"] for line in path.read_bytes().splitlines()]


def test_two_workers_rotate_one_log_and_every_line_survives_whole(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    # Two workers (two file descriptors), rotating at ~20 lines, keeping many backups.
    workers = [RequestLog(path, max_bytes=4000, backups=100, check_every_s=0) for _ in range(2)]
    for i in range(0, 1000, 10):
        _write(workers[(i // 10) % 2], 10, start=i)
    files = log_files(path)
    assert len(files) > 10 and files[-1] == path
    assert all(f.stat().st_size < 4000 + 4 * 200 for f in files)
    written = [request_id for f in files for request_id in _ids(f)]
    assert sorted(written) == sorted(f"r{i}" for i in range(1000))  # none lost, none twice
    assert written == [f"r{i}" for i in range(1000)]  # and in order, oldest file first
    assert [r["request_id"] for r in read_log(path, tail=None)] == written


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    log = RequestLog(path, max_bytes=2000, backups=2, check_every_s=0)
    _write(log, 500)
    assert [f.name for f in log_files(path)] == ["requests.2.jsonl", "requests.1.jsonl",
                                                 "requests.jsonl"]
    assert _ids(path)[-1] == "r499"
    assert "r0" not in {r["request_id"] for r in read_log(path, tail=None)}


def test_no_rotation_below_the_limit_or_when_disabled(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    _write(RequestLog(path, max_bytes=0, check_every_s=0), 200)
    assert log_files(path) == [path] and len(_ids(path)) == 200


def test_tail_reaches_into_rotated_files_and_follow_restarts_after_rotation(
        tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    log = RequestLog(path, max_bytes=3000, backups=5, check_every_s=0)
    _write(log, 100)
    records, offset = tail_records(path, 60)
    assert [r["request_id"] for r in records] == [f"r{i}" for i in range(40, 100)]
    assert offset == path.stat().st_size
    assert records_since(path, offset) == ([], offset)
    _write(log, 40, start=100)  # rotates at least once: the old offset is past the new end
    assert path.stat().st_size < offset
    following, _ = records_since(path, offset)
    assert following and following[-1]["request_id"] == "r139"


def test_metrics_count_every_request_across_rotations(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    log = RequestLog(path, max_bytes=3000, backups=50, check_every_s=0)
    metrics = LogMetrics(path, "bank")
    for batch in range(10):
        _write(log, 37, start=batch * 37)
        text = metrics.prometheus_text()
        count = f'slipway_requests_total{{endpoint="bank",route="score",status="200"}} {37 * (batch + 1)}'
        assert count in text, text
    assert len(log_files(path)) > 3
    assert sum(m.requests for m in summarize(path)) == 370
