"""The text-embedding cache: LRU order, model-id keys, stats, and thread safety."""

from __future__ import annotations

import threading

import numpy as np

from pixseek.search.cache import TextEmbeddingCache


def vector_for(text: str) -> np.ndarray:
    return np.full(4, len(text), dtype=np.float32)


def test_repeated_query_is_a_hit_and_not_recomputed() -> None:
    cache = TextEmbeddingCache(4)
    calls: list[str] = []

    def compute(text: str) -> np.ndarray:
        calls.append(text)
        return vector_for(text)

    first = cache.get_or_compute("m", "a cat", compute)
    second = cache.get_or_compute("m", "a cat", compute)
    assert calls == ["a cat"]
    assert first is second
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.size) == (1, 1, 1)
    assert stats.hit_rate == 0.5


def test_least_recently_used_entry_is_evicted_first() -> None:
    cache = TextEmbeddingCache(2)
    cache.get_or_compute("m", "a", vector_for)
    cache.get_or_compute("m", "b", vector_for)
    cache.get_or_compute("m", "a", vector_for)  # "a" is now the most recent
    cache.get_or_compute("m", "c", vector_for)  # evicts "b", not "a" (a FIFO would evict "a")
    misses_before = cache.stats().misses
    cache.get_or_compute("m", "a", vector_for)
    assert cache.stats().misses == misses_before
    cache.get_or_compute("m", "b", vector_for)
    assert cache.stats().misses == misses_before + 1
    assert cache.stats().size == 2


def test_same_text_under_another_model_is_another_entry() -> None:
    cache = TextEmbeddingCache(8)
    cache.get_or_compute("model-a", "dog", vector_for)
    cache.get_or_compute("model-b", "dog", vector_for)
    assert cache.stats().misses == 2


def test_cached_vectors_are_read_only() -> None:
    cache = TextEmbeddingCache(8)
    vector = cache.get_or_compute("m", "x", vector_for)
    assert not vector.flags.writeable


def test_zero_capacity_caches_nothing() -> None:
    cache = TextEmbeddingCache(0)
    cache.get_or_compute("m", "x", vector_for)
    cache.get_or_compute("m", "x", vector_for)
    assert cache.stats().size == 0 and cache.stats().misses == 2


def test_concurrent_use_keeps_size_bounded_and_counts_every_lookup() -> None:
    cache = TextEmbeddingCache(16)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            for i in range(500):
                text = f"q{(seed * 7 + i) % 40}"
                assert cache.get_or_compute("m", text, vector_for)[0] == len(text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = cache.stats()
    assert not errors
    assert stats.size <= 16
    assert stats.hits + stats.misses == 8 * 500
