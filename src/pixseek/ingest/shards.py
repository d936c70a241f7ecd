"""Analysing one batch as several shards at once, so every core runs the models.

Shards are contiguous runs of the batch, twice as many as workers: a worker that finishes early
takes the next one, which keeps both cores busy when images differ in their number of objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from pixseek.models.protocols import ImageAnalyzer
from pixseek.models.starter.pool import usable_cpu_count
from pixseek.models.types import Analysis, RGBImage

SHARDS_PER_WORKER = 2


def split_evenly(count: int, parts: int) -> list[range]:
    """`parts` contiguous ranges covering 0..count, sizes differing by at most one, none empty."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    bounds = [0]
    for part in range(parts):
        bounds.append(bounds[-1] + size + (1 if part < extra else 0))
    return [range(start, end) for start, end in pairwise(bounds) if end > start]


class AnalysisWorkers:
    """Runs `analyzer.analyze` over shards of a batch on `workers` threads; results in batch order.

    The models release the GIL while they compute (cv2.dnn, LiteRT, ONNX Runtime), so threads are
    enough; the analyzer must allow concurrent calls (the starter pack pools its runtimes, ONNX
    Runtime sessions are thread-safe).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or usable_cpu_count())
        self._pool: ThreadPoolExecutor | None = None
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="pixseek-analyze")

    def analyze(self, analyzer: ImageAnalyzer, images: Sequence[RGBImage]) -> list[Analysis]:
        """`analyzer` is passed per call: the caller's pack may be wrapped (metrics) after start-up."""
        return self.submit(analyzer, images)()

    def submit(self, analyzer: ImageAnalyzer, images: Sequence[RGBImage]) -> Callable[[], list[Analysis]]:
        """Queue the batch's shards and return a call that waits for their analyses (in batch order).

        Shards of the next batch queue behind this one's, so a worker that finishes early starts on
        them instead of idling while the slowest shard and the store write finish. One worker: the
        analysis runs here, now.
        """
        if self._pool is None:
            done = analyzer.analyze(images)
            return lambda: done
        ranges = split_evenly(len(images), self.workers * SHARDS_PER_WORKER)
        futures = [self._pool.submit(analyzer.analyze, images[r.start : r.stop]) for r in ranges]
        return lambda: [analysis for future in futures for analysis in future.result()]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
