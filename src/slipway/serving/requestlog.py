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

The log rotates by size: once a second a worker looks at the file, and when it
has reached ``max_bytes`` renames it to ``requests.1.jsonl`` (shifting older
ones to ``.2``, ``.3``..., keeping ``backups`` of them) under a lock, and
every worker reopens the new file within a second. Lines a worker writes
between the rename and its reopening land, whole, in ``requests.1.jsonl``.
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
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_BACKUPS = 3


def rotated_path(path: str | Path, index: int) -> Path:
    """``requests.jsonl`` -> ``requests.<index>.jsonl`` (1 is the newest rotated file)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{index}{path.suffix}")


def log_files(path: str | Path) -> list[Path]:
    """The rotated files that exist, oldest first, then the current file."""
    path = Path(path)
    found = []
    index = 1
    while (candidate := rotated_path(path, index)).is_file():
        found.append(candidate)
        index += 1
    return [*reversed(found), path]


class RequestLog:
    """Appends request records to the log file; cheap enough to call on every request."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 backups: int = DEFAULT_BACKUPS, check_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes  # 0: never rotate
        self.backups = backups
        self._check_every_s = check_every_s
        self._checked = 0.0
        self._open()
        self._pid = os.getpid()
        self._second = -1
        self._stamp = ""

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._inode = os.fstat(self._fd).st_ino

    def _reopen(self) -> None:
        old = self._fd
        self._open()
        with contextlib.suppress(OSError):
            os.close(old)

    def _check_rotation(self) -> None:
        """Reopen if another worker rotated the file; rotate it if it is full."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            self._reopen()
            return
        if current.st_ino != self._inode:
            self._reopen()
        elif self.max_bytes and current.st_size >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        import fcntl

        lock = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT,
                       0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Another worker may have rotated it while this one waited for the lock.
            if os.stat(self.path).st_ino == self._inode:
                if self.backups < 1:
                    self.path.unlink()
                else:
                    rotated_path(self.path, self.backups).unlink(missing_ok=True)
                    for index in range(self.backups - 1, 0, -1):
                        older = rotated_path(self.path, index)
                        if older.exists():
                            os.replace(older, rotated_path(self.path, index + 1))
                    os.replace(self.path, rotated_path(self.path, 1))
            self._reopen()
        finally:
            os.close(lock)  # releases the lock

    def write(self, *, request_id: str, method: str, path: str, status: int,
              latency_ms: float, rows: int, client: str, error: str | None = None) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:  # format the date once a second, not once a request
            self._second = second
            self._stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if now - self._checked >= self._check_every_s:
            self._checked = now
            with contextlib.suppress(OSError):  # a log that cannot rotate must not fail a request
                self._check_rotation()
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


def tail_records(path: str | Path, tail: int) -> tuple[list[dict[str, Any]], int]:
    """The last ``tail`` records, oldest first, reaching into rotated files when the
    current one holds fewer; and the offset in the current file to follow from."""
    files = log_files(path)
    records: deque[dict[str, Any]] = deque(maxlen=tail)
    end = 0
    for end, record in iter_records(files[-1]):  # noqa: B007 - the last offset is kept
        records.append(record)
    for older in reversed(files[:-1]):
        if len(records) >= tail:
            break
        earlier: deque[dict[str, Any]] = deque(maxlen=tail - len(records))
        for _, record in iter_records(older):
            earlier.append(record)
        records.extendleft(reversed(earlier))
    return list(records), end


def records_since(path: str | Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The records after ``offset`` in the current file, and the new offset. An
    offset past the end means the file rotated: it starts again from the top."""
    path = Path(path)
    with contextlib.suppress(OSError):
        if offset > path.stat().st_size:
            offset = 0
    records, end = [], offset
    for end, record in iter_records(path, offset):  # noqa: B007 - the last offset is kept
        records.append(record)
    return records, end


def read_log(path: str | Path, tail: int | None = 100) -> list[dict[str, Any]]:
    """The last ``tail`` request records (all of them when ``tail`` is None), oldest
    first, from the current file and the rotated ones."""
    if tail is not None:
        return tail_records(path, tail)[0]
    return [record for file in log_files(path) for _, record in iter_records(file)]
