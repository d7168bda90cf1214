"""The request log: one JSON line per request, appended by every worker.

``<log-dir>/requests.jsonl``, each line e.g.::

    {"time": "2026-11-21T17:02:03.123Z", "ts": 1795280523.123, "request_id": "9f0c...",
     "method": "POST", "path": "/score", "status": 200, "latency_ms": 0.41, "rows": 2,
     "client": "127.0.0.1:51234", "worker": 4242}

with ``"error": "<code>"`` added on failures. Headers and bodies are never
logged, so neither keys nor tokens nor scored data reach the file. Workers
share the file through O_APPEND: each line is one ``write()`` smaller than a
page, which Linux appends whole. The same file feeds ``slipway endpoints
logs`` (:func:`read_log`) and monitoring (:mod:`slipway.serving.monitoring`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

REQUEST_LOG_FILE = "requests.jsonl"
SERVER_LOG_FILE = "server.log"


class RequestLog:
    """Appends request records to the log file; cheap enough to call on every request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._pid = os.getpid()
        self._second = -1
        self._stamp = ""

    def write(self, *, request_id: str, method: str, path: str, status: int,
              latency_ms: float, rows: int, client: str, error: str | None = None) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:  # format the date once a second, not once a request
            self._second = second
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        record: dict[str, Any] = {
            "time": f"{self._stamp}.{int((now - second) * 1000):03d}Z",
            "ts": round(now, 3),
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "rows": rows,
            "client": client,
            "worker": self._pid,
        }
        if error is not None:
            record["error"] = error
        # a full disk must not turn a scored request into a failure
        with contextlib.suppress(OSError):
            os.write(self._fd, orjson.dumps(record) + b"\n")

    def close(self) -> None:
        os.close(self._fd)


def iter_records(path: str | Path, offset: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (offset after the line, record) for each complete line from ``offset`` on."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally, the generator may stop early
    except FileNotFoundError:
        return
    try:
        fh.seek(offset)
        pos = offset
        for line in fh:
            if not line.endswith(b"\n"):
                break  # a line another worker is still writing
            pos += len(line)
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield pos, record
    finally:
        fh.close()


def read_log(path: str | Path, tail: int | None = 100) -> list[dict[str, Any]]:
    """The last ``tail`` request records (all of them when ``tail`` is None), oldest first."""
    records: deque[dict[str, Any]] = deque(maxlen=tail)
    for _, record in iter_records(path):
        records.append(record)
    return list(records)
