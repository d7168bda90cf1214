"""The executor interface shared by the local process pool and remote backends."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class SharedRef(Protocol):
    """A handle on an object shipped to the workers once; ``get()`` works in any process."""

    def get(self) -> Any: ...


@runtime_checkable
class Executor(Protocol):
    """Runs picklable functions somewhere and hands back futures.

    ``max_workers`` is how many tasks run at once. ``shutdown(cancel=True)``
    drops queued tasks and stops running ones as fast as the backend allows.
    Backends may also offer ``share(obj) -> SharedRef``; use :func:`share`,
    which falls back to sending the object with every task.
    """

    max_workers: int

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]: ...

    def shutdown(self, cancel: bool = False) -> None: ...


@dataclass(frozen=True)
class InlineRef:
    """The fallback reference: the object itself, pickled with each task."""

    value: Any

    def get(self) -> Any:
        return self.value


def share(executor: Executor, obj: Any) -> SharedRef:
    """Ship ``obj`` to the executor's workers once if it can, else wrap it inline."""
    sharer = getattr(executor, "share", None)
    if callable(sharer):
        ref = sharer(obj)
        if isinstance(ref, SharedRef):
            return ref
    return InlineRef(obj)
