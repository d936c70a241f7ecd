"""Search over a Store: embeds the query, applies filters in the store, then pages and sorts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

import numpy as np

from pixseek.index.protocol import ImageFilter, ImageHit, ImageRecord, ObjectFilter, ObjectHit, Store, Vector
from pixseek.ingest.decode import decode_image
from pixseek.models.protocols import ModelPack
from pixseek.search.cache import TextEmbeddingCache

SortOrder = Literal["score", "date"]
Hit = TypeVar("Hit", ImageHit, ObjectHit)

# The furthest a client may page (offset + k): deeper pages cost a store query this large.
MAX_WINDOW = 10_000
# A class named in an image filter counts from this detection confidence unless the caller says
# otherwise (the plan's hybrid default; the API and the CLI share it). Object search defaults to 0.
CLASS_MIN_CONFIDENCE = 0.5


class UnknownImageError(KeyError):
    """No stored image has this id."""


@dataclass(frozen=True)
class Page:
    """Which hits to return: `k` of them after `offset`, at `min_score` or more, in `sort` order.

    Sorting by date orders a fixed pool of the best-scoring matches (`date_pool`) by capture
    date, newest first, so successive pages are consistent slices of one ordering; it ends with
    the pool (a pool that grew with the page would reorder the pages before it).
    """

    k: int = 20
    offset: int = 0
    min_score: float = -1.0
    sort: SortOrder = "score"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.offset < 0:
            raise ValueError("offset must not be negative")
        if self.offset + self.k > MAX_WINDOW:
            raise ValueError(f"offset + k must not exceed {MAX_WINDOW}")


class SearchService:
    def __init__(
        self,
        pack: ModelPack,
        store: Store,
        cache: TextEmbeddingCache,
        max_image_pixels: int,
        max_query_chars: int = 1000,
        date_pool: int = 1000,
    ) -> None:
        self.pack = pack
        self.store = store
        self.cache = cache
        self.max_image_pixels = max_image_pixels
        self.max_query_chars = max_query_chars
        self.date_pool = date_pool

    # --- query vectors -------------------------------------------------------------------
    def embed_text(self, text: str) -> Vector:
        query = " ".join(text.split())
        if not query:
            raise ValueError("query text is empty")
        if len(query) > self.max_query_chars:
            raise ValueError(f"query text is longer than {self.max_query_chars} characters")
        return self.cache.get_or_compute(self.pack.info.model_id, query, self._embed_one_text)

    def _embed_one_text(self, text: str) -> Vector:
        return np.asarray(self.pack.text_embedder.embed_texts([text])[0], dtype=np.float32)

    def embed_image_bytes(self, data: bytes) -> Vector:
        """Embed an uploaded image exactly as ingest embeds a stored one (same decode, same model)."""
        decoded = decode_image(data, self.max_image_pixels)
        return np.asarray(self.pack.image_embedder.embed_images([decoded.rgb])[0], dtype=np.float32)

    def stored_vector(self, image_id: str) -> Vector:
        record = self.store.get(image_id)
        if record is None or record.vector is None:
            raise UnknownImageError(image_id)
        return record.vector

    # --- searches ------------------------------------------------------------------------
    def text(self, query: str, page: Page = Page(), flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        """Text -> images; with a filter this is the hybrid search."""
        return self.by_vector(self.embed_text(query), page, flt)

    def image(self, data: bytes, page: Page = Page(), flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        return self.by_vector(self.embed_image_bytes(data), page, flt)

    def similar(self, image_id: str, page: Page = Page(), flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        """Images like a stored one, never the image itself."""
        vector = self.stored_vector(image_id)
        excluded = ImageFilter(**{**flt.__dict__, "exclude_ids": (*flt.exclude_ids, image_id)})
        return self.by_vector(vector, page, excluded)

    def by_vector(self, vector: Vector, page: Page, flt: ImageFilter = ImageFilter()) -> list[ImageHit]:
        return self._paged(lambda n: self.store.search_images(vector, n, flt), page)

    def browse(self, page: Page = Page(), flt: ImageFilter = ImageFilter()) -> list[ImageRecord]:
        """Stored images matching the filter, newest capture first (no query, no scores)."""
        return self.store.list_images(page.k, page.offset, flt)

    def tags(self) -> list[tuple[str, int]]:
        """The library's tags with their image counts, most used first (ties by name)."""
        return sorted(self.store.tag_counts().items(), key=lambda item: (-item[1], item[0]))

    def objects(self, query: str, page: Page = Page(), flt: ObjectFilter = ObjectFilter()) -> list[ObjectHit]:
        """Text -> detected objects, each with its image and box."""
        vector = self.embed_text(query)
        return self._paged(lambda n: self.store.search_objects(vector, n, flt), page)

    def _paged(self, search: Callable[[int], Sequence[Hit]], page: Page) -> list[Hit]:
        wanted = page.offset + page.k
        if page.sort == "date" and page.offset >= self.date_pool:
            return []
        pool = wanted if page.sort == "score" else self.date_pool
        hits = [hit for hit in search(pool) if hit.score >= page.min_score]
        if page.sort == "date":
            hits.sort(key=newest_first)
        return hits[page.offset : wanted]


_EPOCH = datetime.min.replace(tzinfo=UTC)


def newest_first(hit: ImageHit | ObjectHit) -> tuple[bool, float, float, str]:
    """Sort key: dated images newest first, undated ones last, ties by score, then id."""
    captured = hit.record.captured_at
    return (captured is None, -(captured or _EPOCH).timestamp(), -hit.score, hit.record.id)
