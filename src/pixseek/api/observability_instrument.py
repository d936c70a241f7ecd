"""A thin timing layer around the model pack and the store, so the engine itself holds no timers.

`instrument_engine` swaps the engine's pack and store (and the references its ingestor and search
service hold) for wrappers that time each call and count embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from time import perf_counter
from typing import Any, TypeVar

from prometheus_client import Histogram

from pixseek.api.metrics import EMBEDDINGS, INFERENCE_DURATION, STORE_DURATION, count_ingest
from pixseek.engine import Engine
from pixseek.index.protocol import (
    ImageFilter,
    ImageHit,
    ImageRecord,
    MetadataUpdate,
    ObjectFilter,
    ObjectHit,
    ObjectRecord,
    Store,
    StoreInfo,
    Vector,
)
from pixseek.ingest.pipeline import IngestResult
from pixseek.models.protocols import (
    Detector,
    ImageAnalyzer,
    ImageEmbedder,
    ModelPack,
    PackInfo,
    TextEmbedder,
)
from pixseek.models.types import Analysis, Detection, RGBImage, Vectors

T = TypeVar("T")


def _timed(histogram: Histogram, call: Callable[[], T]) -> T:
    started = perf_counter()
    try:
        return call()
    finally:
        histogram.observe(perf_counter() - started)


class TimedDetector:
    def __init__(self, inner: Detector, backend: str) -> None:
        self.inner = inner
        self._time = INFERENCE_DURATION.labels("detector", backend)

    def detect(self, images: Sequence[RGBImage]) -> list[list[Detection]]:
        return _timed(self._time, lambda: self.inner.detect(images))


class TimedImageEmbedder:
    def __init__(self, inner: ImageEmbedder, backend: str) -> None:
        self.inner = inner
        self.dim = inner.dim
        self._time = INFERENCE_DURATION.labels("image_embedder", backend)

    def embed_images(self, images: Sequence[RGBImage]) -> Vectors:
        vectors = _timed(self._time, lambda: self.inner.embed_images(images))
        EMBEDDINGS.labels("image").inc(len(vectors))
        return vectors


class TimedTextEmbedder:
    def __init__(self, inner: TextEmbedder, backend: str) -> None:
        self.inner = inner
        self.dim = inner.dim
        self._time = INFERENCE_DURATION.labels("text_embedder", backend)

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        vectors = _timed(self._time, lambda: self.inner.embed_texts(texts))
        EMBEDDINGS.labels("text").inc(len(vectors))
        return vectors


class TimedAnalyzer:
    """Times the whole detect-and-embed of a batch; counts its image and object embeddings.

    The analyzer calls its own (unwrapped) detector and embedder, so nothing is counted twice.
    """

    def __init__(self, inner: ImageAnalyzer, backend: str) -> None:
        self.inner = inner
        self._time = INFERENCE_DURATION.labels("analyzer", backend)

    def analyze(self, images: Sequence[RGBImage]) -> list[Analysis]:
        analyses = _timed(self._time, lambda: self.inner.analyze(images))
        EMBEDDINGS.labels("image").inc(len(analyses))
        EMBEDDINGS.labels("object").inc(sum(len(a.object_vectors) for a in analyses))
        return analyses


class InstrumentedPack:
    """A ModelPack whose models are timed; anything else is the wrapped pack's."""

    def __init__(self, inner: ModelPack, backend: str) -> None:
        self.inner = inner
        self.info: PackInfo = inner.info
        self.detector: Detector = TimedDetector(inner.detector, backend)
        self.image_embedder: ImageEmbedder = TimedImageEmbedder(inner.image_embedder, backend)
        self.text_embedder: TextEmbedder = TimedTextEmbedder(inner.text_embedder, backend)
        self.analyzer: ImageAnalyzer = TimedAnalyzer(inner.analyzer, backend)

    def warmup(self) -> None:
        self.inner.warmup()  # through the inner pack: warm-up runs are not traffic

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# The timed Store operations. Their series are created at 0 when a store is wrapped: Prometheus reads
# an increase only between two scrapes of a series, so an operation called once (an upsert) would
# otherwise first appear already at 1 and never show in a rate.
STORE_KINDS = (
    "upsert", "get", "get_many", "existing_ids", "ids_with_prefix", "update_metadata", "delete", "count",
    "search_images", "search_objects", "list_images", "optimize", "info",
)  # fmt: skip


class InstrumentedStore:
    """A Store whose calls are timed by operation (`kind` = the method name)."""

    def __init__(self, inner: Store, backend: str) -> None:
        self.inner = inner
        self._backend = backend
        for kind in STORE_KINDS:
            self._time(kind)

    def _time(self, kind: str) -> Histogram:
        return STORE_DURATION.labels(self._backend, kind)

    def upsert(self, images: Sequence[tuple[ImageRecord, Sequence[ObjectRecord]]]) -> None:
        _timed(self._time("upsert"), lambda: self.inner.upsert(images))

    def get(self, image_id: str) -> ImageRecord | None:
        return _timed(self._time("get"), lambda: self.inner.get(image_id))

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        return _timed(self._time("ids_with_prefix"), lambda: self.inner.ids_with_prefix(prefix, limit))

    def get_many(self, image_ids: Sequence[str]) -> list[ImageRecord]:
        return _timed(self._time("get_many"), lambda: self.inner.get_many(image_ids))

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]:
        return _timed(self._time("existing_ids"), lambda: self.inner.existing_ids(image_ids))

    def update_metadata(self, updates: Sequence[MetadataUpdate]) -> set[str]:
        return _timed(self._time("update_metadata"), lambda: self.inner.update_metadata(updates))

    def delete(self, image_id: str) -> bool:
        return _timed(self._time("delete"), lambda: self.inner.delete(image_id))

    def count(self) -> int:
        return _timed(self._time("count"), self.inner.count)

    def search_images(self, vector: Vector, k: int, flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        return _timed(self._time("search_images"), lambda: self.inner.search_images(vector, k, flt))

    def search_objects(self, vector: Vector, k: int, flt: ObjectFilter = ObjectFilter()) -> list[ObjectHit]:
        return _timed(self._time("search_objects"), lambda: self.inner.search_objects(vector, k, flt))

    def list_images(self, k: int, offset: int = 0, flt: ImageFilter = ImageFilter()) -> list[ImageRecord]:
        return _timed(self._time("list_images"), lambda: self.inner.list_images(k, offset, flt))

    def optimize(self) -> None:
        _timed(self._time("optimize"), self.inner.optimize)

    def info(self) -> StoreInfo:
        return _timed(self._time("info"), self.inner.info)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def instrument_engine(engine: Engine) -> Engine:
    """Wrap the engine's pack and store in place (idempotent) and count its ingest outcomes.

    Call it right after the engine is built, before anything else keeps a reference to its parts.
    """
    if isinstance(engine.pack, InstrumentedPack):
        return engine
    pack = InstrumentedPack(engine.pack, engine.settings.inference)
    store = InstrumentedStore(engine.store, engine.settings.store)
    raw_pack, raw_store = engine.pack, engine.store
    for holder in (engine, engine.ingestor, engine.search):
        if getattr(holder, "pack", None) is raw_pack:
            holder.pack = pack
        if getattr(holder, "store", None) is raw_store:
            holder.store = store
    engine.ingestor.observers.append(_count_results)
    return engine


def _count_results(results: Sequence[IngestResult]) -> None:
    count_ingest(result.status for result in results)
