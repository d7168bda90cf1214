"""A process pool on this machine: the default compute target."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slipway.core.errors import InvalidInput

# Per-process cache of shared objects, so a worker unpickles a DataFrame once
# however many tasks use it. Small: a worker serves one run at a time.
_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class LocalRef:
    """A shared object stored in a pickle file that every local worker can read."""

    path: str
    key: str

    def get(self) -> Any:
        with _CACHE_LOCK:
            if self.key in _CACHE:
                _CACHE.move_to_end(self.key)
                return _CACHE[self.key]
        with open(self.path, "rb") as fh:
            value = pickle.load(fh)
        with _CACHE_LOCK:
            _CACHE[self.key] = value
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return value


def _preload(modules: Sequence[str]) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


class LocalExecutor:
    """A pool of ``max_workers`` worker processes (forkserver where available, else spawn).

    Safe to create from a threaded server: workers are never forked from the
    caller. ``share(obj)`` writes ``obj`` to a temporary file once; tasks get a
    small :class:`LocalRef` and each worker loads it on first use.

    >>> ex = LocalExecutor(2)
    >>> ex.submit(pow, 2, 10).result()
    1024
    >>> ex.shutdown()
    """

    def __init__(
        self, max_workers: int = 2, *, start_method: str | None = None, preload: Sequence[str] = ()
    ) -> None:
        if max_workers < 1:
            raise InvalidInput(f"max_workers must be >= 1, got {max_workers}")
        methods = multiprocessing.get_all_start_methods()
        method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        if method not in methods or method == "fork":
            raise InvalidInput(
                f"start method {method!r} is not supported here", hint="use 'spawn' or 'forkserver'"
            )
        self.max_workers = max_workers
        self.start_method = method
        context = multiprocessing.get_context(method)
        if method == "forkserver" and preload:
            # Import heavy modules once in the fork server, not in every worker.
            context.set_forkserver_preload(list(preload))
        self._pool = ProcessPoolExecutor(
            max_workers=max_workers, mp_context=context, initializer=_preload, initargs=(tuple(preload),)
        )
        self._tmpdir: str | None = None
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._pool.submit(fn, *args, **kwargs)

    def share(self, obj: Any) -> LocalRef:
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="slipway-share-")
        key = uuid.uuid4().hex
        path = Path(self._tmpdir) / f"{key}.pkl"
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return LocalRef(path=str(path), key=key)

    def shutdown(self, cancel: bool = False) -> None:
        """Stop the pool. ``cancel=True`` drops queued tasks and kills running ones."""
        if self._closed:
            return
        self._closed = True
        if cancel:
            # ProcessPoolExecutor cannot interrupt a running task: kill its workers.
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.kill()
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(timeout=5)
        else:
            self._pool.shutdown(wait=True)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(cancel=exc[0] is not None)

    def __repr__(self) -> str:
        return (
            f"LocalExecutor(max_workers={self.max_workers}, "
            f"start_method={self.start_method!r}, pid={os.getpid()})"
        )
