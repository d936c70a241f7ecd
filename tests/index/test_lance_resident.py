"""The resident HNSW snapshot: built by optimize, used only for the table version it covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa
import pytest

from pixseek.index.lance_resident import ResidentIndex
from pixseek.index.lance_schema import IMAGES_TABLE, RECORD_COLUMNS, ClassColumns
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import clustered_unit_vectors, synthetic_images
from pixseek.index.protocol import ImageFilter, ImageRecord
from pixseek.models.protocols import PackInfo
from pixseek.models.types import Box, Detection, Vectors

PACK = PackInfo("synthetic-64", 64, "none", "none", "test-only", ("person", "cat", "dog"))
ROWS = 800
THRESHOLD = 500
K = 10


@pytest.fixture
def vectors() -> Vectors:
    rng = np.random.default_rng(11)
    return clustered_unit_vectors(rng, ROWS, rng.standard_normal((8, PACK.dim), dtype=np.float32), 0.5)


def loaded_store(folder: Path, vectors: Vectors, **options: bool) -> LanceStore:
    store = LanceStore(folder, PACK, ann_threshold=THRESHOLD, **options)
    store.add_arrow(synthetic_images(ClassColumns(PACK.class_names), vectors, {}))
    store.optimize()
    return store


def resident_of(folder: Path) -> tuple[ResidentIndex, lancedb.table.Table]:
    """What a second process reading the same folder sees."""
    resident = ResidentIndex(folder / "resident", PACK.dim, ClassColumns(PACK.class_names))
    return resident, lancedb.connect(folder).open_table(IMAGES_TABLE)


def late_image(vector: np.ndarray) -> ImageRecord:
    return ImageRecord("late", "/late.jpg", "late.jpg", 8, 8, None, datetime.now(UTC), (), (), vector=vector)


def test_optimize_builds_a_snapshot_that_ranks_like_brute_force(tmp_path: Path, vectors: Vectors) -> None:
    loaded_store(tmp_path, vectors)
    resident, table = resident_of(tmp_path)
    queries = vectors[:40] + np.random.default_rng(3).normal(0, 0.05, (40, PACK.dim)).astype(np.float32)
    recalls = []
    for query in queries:
        rows = resident.nearest(table, query, K, RECORD_COLUMNS)
        assert rows is not None, "a reader of the optimized version must use the snapshot"
        got = [int(i, 16) for i in rows["id"].to_pylist()]
        cosine = vectors @ query / np.linalg.norm(query)
        truth = np.argsort(-cosine)[:K]
        recalls.append(len(set(got) & set(truth.tolist())) / K)
        np.testing.assert_allclose(1.0 - rows["_distance"].to_numpy(), cosine[got], atol=1e-5)
        assert list(got) == sorted(got, key=lambda n: -cosine[n])  # best first
    assert np.mean(recalls) >= 0.95
    assert resident.snapshot_version() == table.version


def test_store_search_goes_through_the_snapshot_with_the_same_answer_as_lancedb(
    tmp_path: Path, vectors: Vectors
) -> None:
    with_snapshot = loaded_store(tmp_path / "on", vectors)
    without = loaded_store(tmp_path / "off", vectors, resident_index=False)
    assert with_snapshot.info().extra["resident_snapshot_version"] is not None
    assert without.info().extra["resident_snapshot_version"] is None
    assert not (tmp_path / "off" / "resident").exists()
    for query in vectors[:20]:
        on = [(h.record.id, round(h.score, 4)) for h in with_snapshot.search_images(query, K)]
        off = [(h.record.id, round(h.score, 4)) for h in without.search_images(query, K)]
        assert on[0] == off[0]
        assert len(set(on) & set(off)) >= K - 1


def test_writes_after_optimize_are_seen_at_once_and_the_next_optimize_refreshes_it(
    tmp_path: Path, vectors: Vectors
) -> None:
    store = loaded_store(tmp_path, vectors)
    resident, table = resident_of(tmp_path)
    query = vectors[5]
    first = store.search_images(query, 1)[0].record.id

    store.upsert([(late_image(query), [])])
    assert store.search_images(query, 1)[0].record.id in {"late", first}  # equal vectors: either
    assert store.delete(first)
    assert first not in {hit.record.id for hit in store.search_images(query, K)}
    table.checkout_latest()
    assert resident.nearest(table, query, K, RECORD_COLUMNS) is None  # the snapshot is of an older version

    store.optimize()
    table.checkout_latest()
    rows = resident.nearest(table, query, K, RECORD_COLUMNS)
    assert rows is not None
    assert rows["id"][0].as_py() == "late" and first not in rows["id"].to_pylist()
    assert len(list((tmp_path / "resident").glob("images-v*.faiss"))) == 1  # older snapshots removed


def test_filtered_searches_and_small_libraries_do_not_use_it(tmp_path: Path, vectors: Vectors) -> None:
    small = LanceStore(tmp_path / "small", PACK, ann_threshold=THRESHOLD)
    small.add_arrow(synthetic_images(ClassColumns(PACK.class_names), vectors[: THRESHOLD - 1], {}))
    small.optimize()
    assert small.info().extra["resident_snapshot_version"] is None
    assert not list((tmp_path / "small" / "resident").glob("*"))

    store = loaded_store(tmp_path / "big", vectors)
    tagged = ImageFilter(tags=("no-such-tag",))
    assert store.search_images(vectors[0], K, tagged) == []  # a snapshot would ignore the filter


def varied_library(rng: np.random.Generator, n: int) -> list[tuple[ImageRecord, list]]:
    """Images with 0-3 detections at varied confidences (some exactly 0.5), some undated, some tagged."""
    vectors = clustered_unit_vectors(rng, n, rng.standard_normal((8, PACK.dim), dtype=np.float32), 0.5)
    items = []
    for i, vector in enumerate(vectors):
        detections = tuple(
            Detection(
                int(c), PACK.class_names[c], float(rng.choice([0.2, 0.3, 0.5, 0.7, 0.95])), Box(0, 0, 5, 5)
            )
            for c in rng.choice(3, int(rng.integers(0, 4)), replace=False)
        )
        captured = None if i % 7 == 0 else datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=int(i))
        tags = ("rare",) if i % 13 == 0 else ()
        record = ImageRecord(f"{i:064x}", f"/{i}.jpg", f"{i}.jpg", 8, 8, captured, datetime.now(UTC), tags,
                             detections, vector=vector)  # fmt: skip
        items.append((record, []))
    return items


def test_filtered_searches_through_the_snapshot_equal_lancedb(tmp_path: Path) -> None:
    items = varied_library(np.random.default_rng(5), ROWS)
    stores = {}
    for name, resident in (("resident", True), ("lancedb", False)):
        stores[name] = LanceStore(tmp_path / name, PACK, ann_threshold=THRESHOLD, resident_index=resident)
        stores[name].upsert(items)
        stores[name].optimize()
    resident, table = resident_of(tmp_path / "resident")
    day = datetime(2024, 1, 10, tzinfo=UTC)
    filters = [
        ImageFilter(classes=("dog",), min_confidence=0.5),
        ImageFilter(classes=("cat", "dog"), min_confidence=0.0),
        ImageFilter(classes=("person", "dog"), classes_mode="all", min_confidence=0.3),
        ImageFilter(date_from=day, date_to=day + timedelta(days=5)),
        ImageFilter(date_to=day),  # undated images must drop out
        ImageFilter(classes=("cat",), min_confidence=0.7, date_from=day),
        ImageFilter(exclude_ids=(items[3][0].id, items[4][0].id)),
        ImageFilter(classes=("person",), exclude_ids=(items[3][0].id,)),
    ]
    for flt in filters:
        for query in (items[3][0].vector, items[40][0].vector):
            assert resident.nearest(table, query, K, RECORD_COLUMNS, flt) is not None, flt
            for k in (K, 50):
                got = [(h.record.id, h.score) for h in stores["resident"].search_images(query, k, flt)]
                want = [(h.record.id, h.score) for h in stores["lancedb"].search_images(query, k, flt)]
                assert [i for i, _ in got] == [i for i, _ in want], flt
                np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    tagged = ImageFilter(tags=("rare",))
    assert resident.nearest(table, items[0][0].vector, K, RECORD_COLUMNS, tagged) is None  # LanceDB's


def test_records_are_taken_across_batches_in_rank_order() -> None:
    from pixseek.index.lance_resident import RecordBatches

    table = pa.Table.from_batches(
        [pa.record_batch({"id": [f"{start + i}" for i in range(n)]}) for start, n in ((0, 3), (3, 4), (7, 2))]
    )
    labels = np.array([8, 0, 5, 3, 7, 1])
    got = RecordBatches(table).take(labels)
    assert got.column("id").to_pylist() == [str(label) for label in labels]
    assert RecordBatches(table).take(np.zeros(0, np.int64)).num_rows == 0
