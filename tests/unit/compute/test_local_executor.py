"""The local process pool: futures, shared objects sent once, cancellation."""

from __future__ import annotations

import os
import time
from concurrent.futures import Future

import pytest

from slipway.compute import Executor, InlineRef, LocalExecutor, LocalRef, share
from slipway.core.errors import InvalidInput


def _pid_and_object_id(ref: LocalRef) -> tuple[int, int, int]:
    obj = ref.get()
    return os.getpid(), id(obj), len(obj)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _boom() -> None:
    raise ValueError("boom")


def test_submit_returns_futures_and_propagates_errors() -> None:
    with LocalExecutor(2) as ex:
        assert isinstance(ex, Executor)
        fut = ex.submit(pow, 2, 10)
        assert isinstance(fut, Future)
        assert fut.result(timeout=60) == 1024
        with pytest.raises(ValueError, match="boom"):
            ex.submit(_boom).result(timeout=60)


def test_shared_object_is_loaded_once_per_worker() -> None:
    ex = LocalExecutor(1, start_method="spawn")
    try:
        ref = ex.share(list(range(1000)))
        results = [ex.submit(_pid_and_object_id, ref).result(timeout=60) for _ in range(3)]
    finally:
        ex.shutdown()
    assert len({pid for pid, _, _ in results}) == 1
    assert len({oid for _, oid, _ in results}) == 1  # cached in the worker, not re-sent
    assert results[0][2] == 1000


def test_shutdown_with_cancel_kills_running_tasks_without_waiting() -> None:
    ex = LocalExecutor(1)
    fut = ex.submit(_sleep, 60.0)
    while not fut.running():
        time.sleep(0.05)
    started = time.monotonic()
    ex.shutdown(cancel=True)
    assert time.monotonic() - started < 30  # a behavioural bound: not the 60 s sleep


def test_share_falls_back_to_inline_for_executors_without_share() -> None:
    class Minimal:
        max_workers = 1

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def shutdown(self, cancel: bool = False) -> None:
            pass

    ref = share(Minimal(), {"a": 1})
    assert isinstance(ref, InlineRef) and ref.get() == {"a": 1}


def test_bad_worker_count_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        LocalExecutor(0)
