"""A few instances of a model runtime that is not thread-safe, each lent to one caller at a time.

A cv2.dnn.Net or a LiteRT interpreter holds its input tensors between `set` and `run`, so one
instance serves one caller. A pool of one per core lets ingest workers run the same model side by
side; instances are created only when callers overlap, so a lone caller costs one.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


def usable_cpu_count() -> int:
    """CPUs this process may run on (affinity masks and container cpusets included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class InstancePool(Generic[T]):
    def __init__(self, factory: Callable[[], T], size: int | None = None) -> None:
        self._factory = factory
        self.size = max(1, size or usable_cpu_count())
        self._idle: queue.LifoQueue[T] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[T]:
        """An instance for the caller alone until the block ends; waits while all are lent."""
        instance = self._take()
        try:
            yield instance
        finally:
            self._idle.put(instance)

    def _take(self) -> T:
        with self._lock:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                if self._created >= self.size:
                    create = False
                else:
                    self._created += 1
                    create = True
        if not create:
            return self._idle.get()
        try:
            return self._factory()  # outside the lock: loading a model takes a while
        except BaseException:
            with self._lock:
                self._created -= 1
            raise
