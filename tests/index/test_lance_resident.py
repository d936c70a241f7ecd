"""The resident HNSW snapshot: built by optimize, used only for the table version it covers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import lancedb
import numpy as np
import pytest

from pixseek.index.lance_resident import ResidentIndex
from pixseek.index.lance_schema import IMAGES_TABLE, RECORD_COLUMNS, ClassColumns
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import clustered_unit_vectors, synthetic_images
from pixseek.index.protocol import ImageFilter, ImageRecord
from pixseek.models.protocols import PackInfo
from pixseek.models.types import Vectors

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
    return ResidentIndex(folder / "resident", PACK.dim), lancedb.connect(folder).open_table(IMAGES_TABLE)


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
