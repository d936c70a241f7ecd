"""OpenSearch-only behaviour: the versioned index behind an alias, its atomic swap, efficient filtering."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from pixseek.index.protocol import ImageFilter, ModelMismatchError
from tests.index.conftest import OPENSEARCH_URL, TEST_PACK, StoreFactory, _opensearch_factory
from tests.index.test_store_contract import detection, image, image_id, unit_vector

pytestmark = [
    pytest.mark.opensearch,
    pytest.mark.skipif(OPENSEARCH_URL is None, reason="PIXSEEK_TEST_OPENSEARCH_URL is not set"),
]


@pytest.fixture
def factory() -> Iterator[StoreFactory]:
    assert OPENSEARCH_URL is not None
    made = _opensearch_factory(OPENSEARCH_URL)
    yield made
    for store in made.opened:
        store.close()
    made.cleanup()


def test_store_writes_through_an_alias_over_version_1(factory: StoreFactory) -> None:
    from pixseek.index.opensearch_store import OpenSearchStore

    store = factory()
    assert isinstance(store, OpenSearchStore)
    store.upsert([image(1)])
    assert store.current_indices() == [store.physical_index(1)]
    assert store.info().extra["indices"] == [f"{store.alias}-v1"]


def test_alias_swap_keeps_searches_answering(factory: StoreFactory) -> None:
    from pixseek.index.opensearch_store import OpenSearchStore

    store = factory()
    assert isinstance(store, OpenSearchStore)
    old_ids = {image_id(n) for n in range(1, 21)}
    new_ids = {image_id(n) for n in range(101, 121)}
    store.upsert([image(n) for n in range(1, 21)])
    new_index = store.create_version(2)
    store.upsert_into(new_index, [image(n) for n in range(101, 121)])

    swapped = threading.Event()
    stop = threading.Event()
    before: list[set[str]] = []
    after: list[set[str]] = []
    errors: list[BaseException] = []

    def query_until_stopped() -> None:
        while not stop.is_set():
            started_after_swap = swapped.is_set()
            try:
                ids = {hit.record.id for hit in store.search_images(unit_vector(0), 5)}
            except Exception as exc:  # every failure is a finding, whatever its type
                errors.append(exc)
                continue
            (after if started_after_swap else before).append(ids)

    reader = threading.Thread(target=query_until_stopped)
    reader.start()
    try:
        _wait_for(lambda: len(before) >= 20)
        assert store.swap_alias(new_index) == [store.physical_index(1)]
        swapped.set()
        _wait_for(lambda: len(after) >= 20)
    finally:
        stop.set()
        reader.join(timeout=30)

    assert errors == []
    # A search started before the swap may be answered by either index; none may be empty or mixed.
    assert all(len(ids) == 5 and (ids <= old_ids or ids <= new_ids) for ids in before)
    assert all(len(ids) == 5 and ids <= new_ids for ids in after)
    assert store.current_indices() == [new_index]
    assert store.count() == 20 and store.get(image_id(1)) is None and store.get(image_id(101)) is not None


def test_swap_alias_refuses_an_index_of_another_pack(factory: StoreFactory) -> None:
    from pixseek.index.opensearch_store import OpenSearchStore

    store = factory()
    assert isinstance(store, OpenSearchStore) and OPENSEARCH_URL is not None
    other_factory = _opensearch_factory(OPENSEARCH_URL)
    other = other_factory(replace(TEST_PACK, model_id="other-pack-v2"))
    assert isinstance(other, OpenSearchStore)
    try:
        with pytest.raises(ModelMismatchError, match="other-pack-v2"):
            store.swap_alias(other.physical_index(1))
        assert store.current_indices() == [store.physical_index(1)]
    finally:
        other.close()
        other_factory.cleanup()


def test_selective_filter_still_returns_k_hits(factory: StoreFactory) -> None:
    store = factory()
    # 300 images; 12 tagged "rare" and 12 holding a dog: post-filtering k=10 nearest would find ~0.
    items = [
        image(n, [detection("dog", 0.9)] if n % 25 == 1 else [], tags=["rare"] if n % 25 == 0 else [])
        for n in range(1, 301)
    ]
    store.upsert(items)
    rare = {image_id(n) for n in range(1, 301) if n % 25 == 0}
    hits = store.search_images(unit_vector(7), 10, ImageFilter(tags=("rare",)))
    assert len(hits) == 10 and {h.record.id for h in hits} <= rare
    dogs = store.search_images(unit_vector(7), 10, ImageFilter(classes=("dog",), min_confidence=0.5))
    assert len(dogs) == 10 and all(h.record.detections[0].class_name == "dog" for h in dogs)


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
