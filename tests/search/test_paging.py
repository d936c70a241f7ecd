"""Pages of one search are slices of one ordering: no image twice, none skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixseek.index.lance_schema import ClassColumns
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import clustered_unit_vectors, synthetic_images
from pixseek.models.protocols import PackInfo
from pixseek.search.cache import TextEmbeddingCache
from pixseek.search.service import Page, SearchService, SortOrder

PACK = PackInfo("synthetic-64", 64, "none", "none", "test-only", ("person", "cat", "dog"))


def service_over(store: LanceStore, date_pool: int = 1000) -> SearchService:
    # Vector queries need neither the models nor the text cache.
    return SearchService(None, store, TextEmbeddingCache(0), 10**8, date_pool=date_pool)  # type: ignore[arg-type]


def paged_ids(
    service: SearchService, query: np.ndarray, k: int, pages: int, sort: SortOrder = "score"
) -> list[str]:
    ids: list[str] = []
    for number in range(pages):
        page = Page(k=k, offset=number * k, sort=sort)
        ids += [hit.record.id for hit in service.by_vector(query, page)]
    return ids


def test_date_sorted_pages_are_one_ordering_of_the_pool_and_end_with_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = clustered_unit_vectors(rng, 60, rng.standard_normal((4, PACK.dim), dtype=np.float32), 0.5)
    store = LanceStore(tmp_path, PACK)
    store.add_arrow(synthetic_images(ClassColumns(PACK.class_names), vectors, {}))
    service = service_over(store, date_pool=20)
    query = vectors[0]
    ids = paged_ids(service, query, k=7, pages=6, sort="date")
    pool = service.by_vector(query, Page(k=20))  # the 20 best by score
    newest_first = sorted(pool, key=lambda hit: hit.record.captured_at or 0, reverse=True)
    assert ids == [hit.record.id for hit in newest_first]


@pytest.mark.slow
def test_pages_through_the_ann_index_neither_repeat_nor_skip(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    vectors = clustered_unit_vectors(rng, 20_000, rng.standard_normal((8, PACK.dim), dtype=np.float32), 0.5)
    store = LanceStore(tmp_path, PACK, ann_threshold=5_000, resident_index=False)
    store.add_arrow(synthetic_images(ClassColumns(PACK.class_names), vectors, {}))
    store.optimize()  # builds the IVF_HNSW_SQ index the queries then go through
    service = service_over(store)
    for number in range(10):
        query = vectors[number * 37] + np.random.default_rng(number).normal(0, 0.05, PACK.dim)
        ids = paged_ids(service, query.astype(np.float32), k=20, pages=20)
        assert len(ids) == len(set(ids)) == 400, number
