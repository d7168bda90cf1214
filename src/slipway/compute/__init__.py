"""Executors: where AutoML trials and pipeline steps run.

Every executor has the same small interface (:class:`Executor`): ``submit`` a
picklable function and get a :class:`concurrent.futures.Future`, ``share`` a
large object once (a DataFrame) and pass the returned reference to many tasks,
``shutdown``. :class:`LocalExecutor` is a process pool on this machine; a Ray
executor implements the same interface.
"""

from slipway.compute.base import Executor, InlineRef, SharedRef, share
from slipway.compute.local import LocalExecutor, LocalRef

__all__ = ["Executor", "InlineRef", "LocalExecutor", "LocalRef", "SharedRef", "share"]
