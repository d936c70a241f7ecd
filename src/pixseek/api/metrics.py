"""Prometheus metrics of the API and `GET /metrics`, correct with one or several uvicorn workers.

With several workers, `pixseek serve` sets PROMETHEUS_MULTIPROC_DIR before the workers start (see
`prepare_multiprocess_dir`); prometheus_client then keeps every value in per-process files there and
a scrape of any worker sums all of them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pixseek.api.observability_procs import WorkerProcessCollector, forget_dead_workers
from pixseek.api.observability_serve import MULTIPROC_ENV
from pixseek.search.cache import CacheStats

# prometheus_client picks file-backed values when it is first imported, so decide once, here, too.
MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))

UNMATCHED = "unmatched"  # the endpoint label of every request no route matched (no label explosion)

# The plan's buckets. Inference and store buckets go on past the plan's top (0.2 s and 0.5 s): on CPU a
# batch analysis or an upsert often takes longer, and +Inf alone would hide by how much.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
INFERENCE_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)
STORE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REQUESTS = Counter(
    "visual_search_requests", "HTTP requests by route template and status code", ["endpoint", "status"]
)
REQUEST_DURATION = Histogram(
    "visual_search_request_duration_seconds",
    "HTTP request latency until the last body byte, by route template",
    ["endpoint"],
    buckets=REQUEST_BUCKETS,
)
EMBEDDINGS = Counter("embeddings_generated", "Embeddings computed, by what was embedded", ["type"])
INFERENCE_DURATION = Histogram(
    "inference_duration_seconds",
    "Latency of one model call (a whole batch), by model task and inference backend",
    ["model", "backend"],
    buckets=INFERENCE_BUCKETS,
)
STORE_DURATION = Histogram(
    "store_query_duration_seconds",
    "Latency of one vector-store call, by store backend and operation",
    ["backend", "kind"],
    buckets=STORE_BUCKETS,
)
INGESTED = Counter("ingest_images", "Images offered for ingest, by outcome", ["status"])
# Each worker has its own cache: the total is the sum over the workers alive now.
CACHE_SIZE = Gauge(
    "embedding_cache_size", "Text embeddings held in the query caches", multiprocess_mode="livesum"
)
CACHE_LOOKUPS = Counter("embedding_cache_lookups", "Text-embedding cache lookups", ["result"])
# embedding_cache_hit_rate is derived at scrape time from the summed lookups (see HitRateCollector):
# a ratio per worker cannot be summed or averaged into the true one.
HIT_RATE = "embedding_cache_hit_rate"

for _type in ("image", "text", "object"):
    EMBEDDINGS.labels(_type)
for _status in ("indexed", "exists", "rejected"):
    INGESTED.labels(_status)
for _result in ("hit", "miss"):
    CACHE_LOOKUPS.labels(_result)


class CacheMetrics:
    """Mirrors one TextEmbeddingCache's counters into the metrics (called after each request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def sync(self, stats: CacheStats) -> None:
        with self._lock:
            # A cache's counters only grow; the deltas keep the exported counters monotonic.
            CACHE_LOOKUPS.labels("hit").inc(max(stats.hits - self._hits, 0))
            CACHE_LOOKUPS.labels("miss").inc(max(stats.misses - self._misses, 0))
            self._hits, self._misses = stats.hits, stats.misses
            CACHE_SIZE.set(stats.size)


def count_ingest(statuses: Iterable[str]) -> None:
    for status in statuses:
        INGESTED.labels(status).inc()


class HitRateCollector(Collector):
    """Emits embedding_cache_hit_rate (lifetime hits / lookups, all workers) from collected families."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        hits = lookups = 0.0
        for family in self._families:
            for sample in family.samples:
                if sample.name == "embedding_cache_lookups_total":
                    lookups += sample.value
                    hits += sample.value if sample.labels.get("result") == "hit" else 0.0
        yield from self._families
        yield GaugeMetricFamily(
            HIT_RATE, "Share of text-embedding cache lookups that hit", hits / lookups if lookups else 0.0
        )


def render() -> bytes:
    """The exposition text: this process's metrics, or every worker's in multiprocess mode."""
    if MULTIPROCESS:
        path = Path(os.environ[MULTIPROC_ENV])
        forget_dead_workers(path)
        source = CollectorRegistry()
        multiprocess.MultiProcessCollector(source, path=str(path))
        WorkerProcessCollector(path, registry=source)
    else:
        source = REGISTRY
    registry = CollectorRegistry()
    registry.register(HitRateCollector(list(source.collect())))
    return generate_latest(registry)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(content=render(), media_type=CONTENT_TYPE_LATEST)
