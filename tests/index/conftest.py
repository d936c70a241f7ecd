"""The store test-suite runs over every backend through one fixture, `make_store`."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest

from pixseek.index.protocol import ImageRecord, ObjectRecord, Store
from pixseek.models.protocols import PackInfo

TEST_PACK = PackInfo(
    model_id="test-pack-v1",
    dim=16,
    detector_id="test-detector",
    embedder_id="test-embedder",
    licence="test-only",
    class_names=("person", "cat", "dog", "traffic light"),
)

OPENSEARCH_URL = os.environ.get("PIXSEEK_TEST_OPENSEARCH_URL")
# Without a node the OpenSearch cases show as skipped (and fail the run under CI: tests/conftest.py).
BACKENDS = [
    "lancedb",
    pytest.param(
        "opensearch",
        marks=pytest.mark.skipif(OPENSEARCH_URL is None, reason="PIXSEEK_TEST_OPENSEARCH_URL is not set"),
    ),
]


@dataclass
class StoreFactory:
    """Opens (and reopens) one store of one backend; `write_orphan_objects` reaches into its internals."""

    backend: str
    open: Callable[[PackInfo], Store]
    write_orphan_objects: Callable[[Store, ImageRecord, Sequence[ObjectRecord]], None]
    opened: list[Store] = field(default_factory=list)
    cleanup: Callable[[], None] = lambda: None

    def __call__(self, pack: PackInfo = TEST_PACK) -> Store:
        store = self.open(pack)
        self.opened.append(store)
        return store


class SimulatedCrash(Exception):
    pass


def _lance_factory(folder: Path) -> StoreFactory:
    from pixseek.index.lance_schema import object_rows
    from pixseek.index.lance_store import LanceStore

    def write_orphan_objects(store: Store, record: ImageRecord, objects: Sequence[ObjectRecord]) -> None:
        # What a crash between the objects write and the image-row write leaves behind.
        assert isinstance(store, LanceStore)
        rows = object_rows(record, objects, TEST_PACK.dim)
        with contextlib.suppress(SimulatedCrash), store._journal.writing([record.id]):
            store._objects.add(pa.Table.from_pylist(rows, schema=store._objects_schema))
            raise SimulatedCrash

    return StoreFactory("lancedb", lambda pack: LanceStore(folder, pack), write_orphan_objects)


def _opensearch_factory(url: str) -> StoreFactory:
    from opensearchpy import OpenSearch

    from pixseek.index.opensearch_store import OpenSearchStore

    index_name = f"pixseek-test-{uuid.uuid4().hex[:12]}"

    def write_orphan_objects(store: Store, record: ImageRecord, objects: Sequence[ObjectRecord]) -> None:
        # Nothing to simulate: objects are nested in their image's document, which Lucene writes as
        # one block, so no crash can leave objects without their image.
        assert isinstance(store, OpenSearchStore)

    def drop_indices() -> None:
        client = OpenSearch(hosts=[url])
        client.indices.delete(index=f"{index_name}-v*", ignore_unavailable=True)
        client.close()

    return StoreFactory(
        "opensearch",
        lambda pack: OpenSearchStore(url, index_name, pack),
        write_orphan_objects,
        cleanup=drop_indices,
    )


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    if request.param == "lancedb":
        factory = _lance_factory(tmp_path / "store")
    else:
        assert OPENSEARCH_URL is not None
        factory = _opensearch_factory(OPENSEARCH_URL)
    yield factory
    for store in factory.opened:
        store.close()
    factory.cleanup()
