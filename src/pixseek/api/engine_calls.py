"""The blocking engine work behind each route, run in the thread pool by `deps.run_engine`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from pixseek.api import filters
from pixseek.api.schemas import (
    CacheStatus,
    HybridSearchRequest,
    ImageFilterQuery,
    ObjectSearchRequest,
    StoreStatus,
)
from pixseek.api.thumbnails import ThumbnailCache
from pixseek.engine import Engine
from pixseek.index.protocol import ImageHit, ImageRecord, ObjectHit
from pixseek.ingest.decode import ImageDecodeError
from pixseek.ingest.pipeline import IngestItem, IngestResult
from pixseek.search.service import Page, UnknownImageError


class StoredFileUnavailable(LookupError):
    """The image is stored but its file is gone from disk or no longer decodes."""


def ingest_one(engine: Engine, data: bytes, filename: str, tags: Sequence[str]) -> IngestResult:
    """Ingest one upload; an undecodable one raises ImageDecodeError (the client's 400)."""
    (result,) = engine.ingestor.ingest([IngestItem(data, filename, None, tuple(tags))])
    if result.status == "rejected":
        raise ImageDecodeError(result.reason or "unknown reason")
    return result


def ingest_many(
    engine: Engine, uploads: Sequence[tuple[bytes, str]], tags: Sequence[str]
) -> list[IngestResult]:
    """Ingest uploads in model batches of `settings.batch_size`; one result per upload, in order."""
    items = [IngestItem(data, filename, None, tuple(tags)) for data, filename in uploads]
    size = engine.settings.batch_size
    results: list[IngestResult] = []
    for start in range(0, len(items), size):
        results.extend(engine.ingestor.ingest(items[start : start + size]))
    return results


def search_hybrid(engine: Engine, request: HybridSearchRequest) -> list[ImageHit]:
    flt = filters.image_filter(request, engine.pack.info.class_names)
    return engine.search.text(request.text_query, filters.page_of(request), flt)


def search_text(engine: Engine, text: str, page: Page, query: ImageFilterQuery) -> list[ImageHit]:
    return engine.search.text(text, page, filters.image_filter(query, engine.pack.info.class_names))


def search_image(engine: Engine, data: bytes, page: Page, query: ImageFilterQuery) -> list[ImageHit]:
    return engine.search.image(data, page, filters.image_filter(query, engine.pack.info.class_names))


def similar(engine: Engine, image_id: str, page: Page, query: ImageFilterQuery) -> list[ImageHit]:
    return engine.search.similar(image_id, page, filters.image_filter(query, engine.pack.info.class_names))


def list_images(engine: Engine, k: int, offset: int, query: ImageFilterQuery) -> list[ImageRecord]:
    page = Page(k=k, offset=offset)  # offset + k past the window: ValueError, the client's 422
    return engine.search.browse(page, filters.image_filter(query, engine.pack.info.class_names))


def search_objects(engine: Engine, request: ObjectSearchRequest) -> list[ObjectHit]:
    flt = filters.object_filter(request, engine.pack.info.class_names)
    return engine.search.objects(request.text_query, filters.page_of(request), flt)


def image_record(engine: Engine, image_id: str) -> ImageRecord:
    record = engine.store.get(image_id)
    if record is None:
        raise UnknownImageError(image_id)
    return record


def original_file(engine: Engine, image_id: str) -> BinaryIO:
    """The original, opened: a delete after this cannot cut its answer short."""
    record = image_record(engine, image_id)
    return _opened(stored_file(record), image_id)


def stored_file(record: ImageRecord) -> Path:
    """The file a record names, unless a symlink now leads elsewhere.

    Recorded paths are resolved ones (the media store's own, or an indexed folder's), so a path that
    no longer resolves to itself was replaced by a link, maybe to a file outside the store.
    """
    path = Path(record.path)
    if not path.is_file():
        raise StoredFileUnavailable(f"the file of image {record.id} is no longer on disk")
    if path.resolve() != path:
        raise StoredFileUnavailable(f"the file of image {record.id} was replaced by a link")
    return path


def thumbnail_file(engine: Engine, thumbnails: ThumbnailCache, image_id: str, size: int) -> BinaryIO:
    """The thumbnail, made on first use and opened."""
    record = image_record(engine, image_id)
    try:
        if not thumbnails.path_for(image_id, size).exists():
            stored_file(record)  # made from the original: the same check as serving it
        return _opened(thumbnails.get(record, size), image_id)
    except FileNotFoundError:
        raise StoredFileUnavailable(f"the file of image {image_id} is no longer on disk") from None
    except ImageDecodeError as exc:  # the file changed on disk since ingest: not the client's fault
        raise StoredFileUnavailable(f"the file of image {image_id} no longer decodes: {exc.reason}") from None


def _opened(path: Path, image_id: str) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:  # deleted since it was found (DELETE /images/{id} at the same time)
        raise StoredFileUnavailable(f"the file of image {image_id} is no longer on disk") from None


def delete_image(engine: Engine, thumbnails: ThumbnailCache, image_id: str) -> None:
    if not engine.delete_image(image_id):
        raise UnknownImageError(image_id)
    thumbnails.remove(image_id)


def store_status(engine: Engine) -> StoreStatus:
    info = engine.store.info()
    return StoreStatus(backend=info.backend, images=info.images, objects=info.objects, indexed=info.indexed)


def cache_status(engine: Engine) -> CacheStatus:
    stats = engine.cache.stats()
    return CacheStatus(
        size=stats.size,
        capacity=stats.capacity,
        hits=stats.hits,
        misses=stats.misses,
        hit_rate=stats.hit_rate,
    )
