"""Monitoring computed from the request log, so every worker reports the same totals.

Two consumers:
- the CLI calls :func:`summarize` for per-minute requests, failures and
  latency p50/p95/p99;
- ``GET /metrics`` (when monitoring is on) renders :class:`LogMetrics` as
  Prometheus text. Each worker tails the shared log from where it last
  stopped, so the counters aggregate all workers without any shared memory.
"""

from __future__ import annotations

import bisect
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from slipway.serving.requestlog import iter_records, log_files

LATENCY_BUCKETS_MS = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
                      2500.0, 5000.0, 10000.0)
SCORING_PATHS = ("/score", "/v2/models/")


@dataclass(frozen=True)
class MinuteStats:
    minute: str  # ISO 8601, UTC, start of the minute
    requests: int
    failures: int  # status >= 400
    server_errors: int  # status >= 500
    rows: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def summarize(log_path: str | Path, *, since: float | None = None, until: float | None = None,
              scoring_only: bool = True) -> list[MinuteStats]:
    """Per-minute request counts, failures and latency percentiles from a request log.

    ``since``/``until`` are Unix times; ``scoring_only`` skips health, swagger
    and metrics requests so probes do not drown the numbers."""
    minutes: dict[int, list[tuple[float, int, int]]] = {}
    for rec in (rec for path in log_files(log_path) for _, rec in iter_records(path)):
        ts = rec.get("ts")
        if not isinstance(ts, (int, float)):
            continue
        if (since is not None and ts < since) or (until is not None and ts >= until):
            continue
        if scoring_only and not _is_scoring(rec):
            continue
        minutes.setdefault(int(ts // 60), []).append(
            (float(rec.get("latency_ms", 0.0)), int(rec.get("status", 0)), int(rec.get("rows", 0))))
    out = []
    for minute in sorted(minutes):
        entries = minutes[minute]
        lat = np.array([e[0] for e in entries])
        p50, p95, p99 = (float(v) for v in np.percentile(lat, [50, 95, 99]))
        out.append(MinuteStats(
            minute=datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:00Z"),
            requests=len(entries),
            failures=sum(1 for e in entries if e[1] >= 400),
            server_errors=sum(1 for e in entries if e[1] >= 500),
            rows=sum(e[2] for e in entries),
            p50_ms=round(p50, 3), p95_ms=round(p95, 3), p99_ms=round(p99, 3)))
    return out


def _is_scoring(rec: dict[str, Any]) -> bool:
    path = rec.get("path", "")
    return isinstance(path, str) and (path == "/score" or
                                      (path.startswith("/v2/models/") and path.endswith("/infer")))


class LogMetrics:
    """Cumulative counters over the request log, updated incrementally on each scrape."""

    def __init__(self, log_path: str | Path, endpoint: str) -> None:
        self.log_path = Path(log_path)
        self.endpoint = endpoint
        self._offset = 0
        self._inode: int | None = None  # of the file being counted: a rotation changes it
        with contextlib.suppress(OSError):
            self._inode = self.log_path.stat().st_ino
        self._requests: dict[tuple[str, int], int] = {}
        self._buckets = [0] * (len(LATENCY_BUCKETS_MS) + 1)
        self._latency_sum = 0.0
        self._latency_count = 0
        self._rows = 0

    def refresh(self) -> None:
        try:
            inode = self.log_path.stat().st_ino
        except OSError:
            return
        if self._inode is not None and inode != self._inode:
            # Rotated since the last scrape: finish the file counted so far (now
            # requests.N.jsonl), then any rotated after it, then start the new one.
            rotated = log_files(self.log_path)[:-1]  # oldest first
            inodes = [f.stat().st_ino for f in rotated]
            if self._inode in inodes:
                start = inodes.index(self._inode)
                for i, older in enumerate(rotated[start:]):
                    for _, rec in iter_records(older, self._offset if i == 0 else 0):
                        self._count(rec)
            self._offset = 0
        self._inode = inode
        for offset, rec in iter_records(self.log_path, self._offset):
            self._offset = offset
            self._count(rec)

    def _count(self, rec: dict[str, Any]) -> None:
        route = "score" if _is_scoring(rec) else "other"
        key = (route, int(rec.get("status", 0)))
        self._requests[key] = self._requests.get(key, 0) + 1
        if route == "score":
            latency = float(rec.get("latency_ms", 0.0))
            self._buckets[bisect.bisect_left(LATENCY_BUCKETS_MS, latency)] += 1
            self._latency_sum += latency
            self._latency_count += 1
            self._rows += int(rec.get("rows", 0))

    def prometheus_text(self, extra: dict[str, float] | None = None) -> str:
        self.refresh()
        ep = _label(self.endpoint)
        lines = [
            "# HELP slipway_requests_total Requests answered, by route and HTTP status.",
            "# TYPE slipway_requests_total counter",
        ]
        for (route, status), count in sorted(self._requests.items()):
            lines.append(f'slipway_requests_total{{endpoint="{ep}",route="{route}",'
                         f'status="{status}"}} {count}')
        failures = sum(c for (r, s), c in self._requests.items() if r == "score" and s >= 400)
        lines += [
            "# HELP slipway_scoring_failures_total Scoring requests answered with status >= 400.",
            "# TYPE slipway_scoring_failures_total counter",
            f'slipway_scoring_failures_total{{endpoint="{ep}"}} {failures}',
            "# HELP slipway_scored_rows_total Rows scored.",
            "# TYPE slipway_scored_rows_total counter",
            f'slipway_scored_rows_total{{endpoint="{ep}"}} {self._rows}',
            "# HELP slipway_scoring_latency_ms Scoring latency inside the server, milliseconds.",
            "# TYPE slipway_scoring_latency_ms histogram",
        ]
        cumulative = 0
        for bound, count in zip(LATENCY_BUCKETS_MS, self._buckets, strict=False):
            cumulative += count
            lines.append(f'slipway_scoring_latency_ms_bucket{{endpoint="{ep}",le="{bound:g}"}} '
                         f"{cumulative}")
        lines += [
            f'slipway_scoring_latency_ms_bucket{{endpoint="{ep}",le="+Inf"}} '
            f"{self._latency_count}",
            f'slipway_scoring_latency_ms_sum{{endpoint="{ep}"}} {self._latency_sum:.3f}',
            f'slipway_scoring_latency_ms_count{{endpoint="{ep}"}} {self._latency_count}',
        ]
        for name, value in (extra or {}).items():
            lines += [f"# TYPE {name} gauge", f'{name}{{endpoint="{ep}"}} {value:g}']
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
