"""Analysing a batch as concurrent shards: every image once, results in order, cores used together."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from pixseek.ingest.shards import AnalysisWorkers, split_evenly
from pixseek.models.types import Analysis, RGBImage


@pytest.mark.parametrize(("count", "parts"), [(0, 4), (1, 4), (5, 2), (16, 4), (17, 4), (3, 8)])
def test_split_evenly_covers_every_index_once_in_near_equal_parts(count: int, parts: int) -> None:
    ranges = split_evenly(count, parts)
    assert [i for r in ranges for i in r] == list(range(count))
    sizes = [len(r) for r in ranges]
    assert all(sizes) and (not sizes or max(sizes) - min(sizes) <= 1)
    assert len(ranges) == min(parts, count)


class RecordingAnalyzer:
    """Tags each image's vector with its pixel value; notes how many calls overlap."""

    def __init__(self, wait_for: int = 1) -> None:
        self.calls: list[int] = []
        self.overlapped = 0
        self._running = 0
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(wait_for, timeout=5) if wait_for > 1 else None

    def analyze(self, images: Sequence[RGBImage]) -> list[Analysis]:
        with self._lock:
            self.calls.append(len(images))
            self._running += 1
            self.overlapped = max(self.overlapped, self._running)
        if self._barrier is not None and len(self.calls) <= self._barrier.parties:
            self._barrier.wait()  # the first calls return only once they all run at the same time
        with self._lock:
            self._running -= 1
        return [
            Analysis([], np.full(2, float(image[0, 0, 0]), np.float32), np.zeros((0, 2))) for image in images
        ]


def images(count: int) -> list[RGBImage]:
    return [np.full((4, 4, 3), n, np.uint8) for n in range(count)]


def test_shards_run_side_by_side_and_results_keep_the_batch_order() -> None:
    analyzer = RecordingAnalyzer(wait_for=2)
    workers = AnalysisWorkers(workers=2)
    try:
        analyses = workers.analyze(analyzer, images(10))
    finally:
        workers.close()
    assert [int(a.image_vector[0]) for a in analyses] == list(range(10))
    assert analyzer.overlapped == 2
    assert sum(analyzer.calls) == 10 and len(analyzer.calls) == 4  # two shards per worker


def test_one_worker_analyses_the_batch_in_one_call() -> None:
    analyzer = RecordingAnalyzer()
    workers = AnalysisWorkers(workers=1)
    analyses = workers.analyze(analyzer, images(5))
    workers.close()
    assert analyzer.calls == [5] and len(analyses) == 5
