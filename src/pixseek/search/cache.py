"""A thread-safe LRU cache of text embeddings, keyed by model id and query text."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class CacheStats:
    size: int
    capacity: int
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class TextEmbeddingCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Vector] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get_or_compute(self, model_id: str, text: str, compute: Callable[[str], Vector]) -> Vector:
        """The cached vector, or `compute(text)` stored as the most recent entry.

        `compute` runs outside the lock so one slow embedding does not block cache hits.
        """
        key = (model_id, text)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return cached
            self._misses += 1
        vector = compute(text)
        vector.setflags(write=False)  # shared between callers: nobody may change it in place
        if self.capacity:
            with self._lock:
                self._entries[key] = vector
                self._entries.move_to_end(key)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
        return vector

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._entries), self.capacity, self._hits, self._misses)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
