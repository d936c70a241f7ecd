"""The LanceDB store's ANN index: built on its own past the threshold, accurate, and filter-safe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from pixseek.index.lance_schema import ClassColumns
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import clustered_unit_vectors, synthetic_images
from pixseek.index.protocol import ImageFilter, ImageRecord, ObjectFilter, ObjectRecord
from pixseek.models.protocols import PackInfo
from pixseek.models.types import Box, Detection, Vectors

PACK = PackInfo(
    model_id="synthetic-384",
    dim=384,
    detector_id="none",
    embedder_id="none",
    licence="test-only",
    class_names=("person", "cat", "dog"),
)
ROWS = 200_000
QUERIES = 50
K = 10


def recall_at_k(store: LanceStore, queries: Vectors, truth: np.ndarray, flt: ImageFilter) -> float:
    recalls = []
    for query, want in zip(queries, truth, strict=True):
        hits = store.search_images(query, K, flt)
        assert len(hits) == K
        got = {int(hit.record.id, 16) for hit in hits}
        recalls.append(len(got & set(want.tolist())) / K)
    return float(np.mean(recalls))


def brute_force_top_k(queries: Vectors, vectors: Vectors, allowed: np.ndarray | None = None) -> np.ndarray:
    scores = queries @ vectors.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1)[:, :K]


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.mark.slow
def test_ann_index_recall_plain_and_with_a_rare_class_filter(
    tmp_path_factory: pytest.TempPathFactory, rng: np.random.Generator
) -> None:
    centers = rng.standard_normal((1000, PACK.dim), dtype=np.float32)
    vectors = clustered_unit_vectors(rng, ROWS, centers, spread=0.6)
    queries = clustered_unit_vectors(rng, QUERIES, centers, spread=0.6)
    rare = np.zeros(ROWS, dtype=bool)
    rare[rng.choice(ROWS, ROWS // 1000, replace=False)] = True  # 0.1% of the images show a dog
    common = rng.random(ROWS) < 0.2  # too many to scan exactly: this filter goes through the index

    store = LanceStore(tmp_path_factory.mktemp("ann"), PACK)  # default threshold: 50k rows
    store.add_arrow(
        synthetic_images(ClassColumns(PACK.class_names), vectors, {"dog": rare, "person": common})
    )
    assert store.info().indexed

    assert recall_at_k(store, queries, brute_force_top_k(queries, vectors), ImageFilter()) >= 0.95
    dogs = ImageFilter(classes=("dog",))
    assert recall_at_k(store, queries, brute_force_top_k(queries, vectors, rare), dogs) >= 0.95
    people = ImageFilter(classes=("person",))
    assert recall_at_k(store, queries, brute_force_top_k(queries, vectors, common), people) >= 0.95

    store.optimize()  # also builds the resident HNSW snapshot, which then answers unfiltered searches
    assert store.info().extra["resident_snapshot_version"] is not None
    assert recall_at_k(store, queries, brute_force_top_k(queries, vectors), ImageFilter()) >= 0.95


def test_rows_added_after_indexing_are_found_before_and_after_optimize(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    centers = rng.standard_normal((20, PACK.dim), dtype=np.float32)
    store = LanceStore(tmp_path, PACK, ann_threshold=500)
    store.add_arrow(
        synthetic_images(ClassColumns(PACK.class_names), clustered_unit_vectors(rng, 600, centers, 0.6), {})
    )
    assert store.info().indexed

    late = clustered_unit_vectors(rng, 1, centers, 0.6)[0]
    record = ImageRecord(
        "late", "/late.jpg", "late.jpg", 10, 10, None, datetime.now(UTC), (), (), vector=late
    )
    store.upsert([(record, [])])
    assert store.search_images(late, 1)[0].record.id == "late"
    store.optimize()
    assert store.search_images(late, 1)[0].record.id == "late"
    assert store.info().extra["unindexed_images"] == 0


def test_filters_still_hold_once_both_tables_are_indexed(tmp_path: Path, rng: np.random.Generator) -> None:
    store = LanceStore(tmp_path, PACK, ann_threshold=60)
    vectors = clustered_unit_vectors(rng, 80, rng.standard_normal((4, PACK.dim), dtype=np.float32), 0.6)
    items = []
    for n, vector in enumerate(vectors):
        name = PACK.class_names[n % 3]
        record = ImageRecord(
            f"img{n}", f"/{n}.jpg", f"{n}.jpg", 100, 100, datetime(2024, 1, 1 + n % 28, tzinfo=UTC),
            datetime.now(UTC), (f"t{n % 5}",), (Detection(n % 3, name, 0.5 + n / 200, Box(0, 0, 9, 9)),),
            vector=vector,
        )  # fmt: skip
        items.append((record, [ObjectRecord(0, record.detections[0], vector)]))
    store.upsert(items)
    info = store.info()
    assert info.indexed and info.extra["objects_indexed"]

    flt = ImageFilter(classes=("dog",), tags=("t2",), date_from=datetime(2024, 1, 10, tzinfo=UTC))
    want = {r.id for r, _ in items if r.detections[0].class_name == "dog" and "t2" in r.tags
            and r.captured_at is not None and r.captured_at.day >= 10}  # fmt: skip
    assert want and {h.record.id for h in store.search_images(vectors[0], 80, flt)} == want
    hits = store.search_objects(vectors[7], 3, ObjectFilter(classes=("cat",), min_confidence=0.5))
    assert hits[0].record.id == "img7" and hits[0].detection.class_name == "cat"
