"""What every Store backend promises; runs once per backend through `make_store`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from pixseek.index.protocol import (
    ImageFilter,
    ImageRecord,
    MetadataUpdate,
    ModelMismatchError,
    ObjectFilter,
    ObjectRecord,
    Store,
    Vector,
)
from pixseek.models.types import Box, Detection, l2_normalize
from tests.index.conftest import TEST_PACK, StoreFactory

DIM = TEST_PACK.dim
Item = tuple[ImageRecord, list[ObjectRecord]]


def unit_vector(seed: int) -> Vector:
    return l2_normalize(np.random.default_rng(seed).standard_normal(DIM))


def day(d: int) -> datetime:
    return datetime(2024, 1, d, 12, 0, tzinfo=UTC)


def detection(class_name: str, confidence: float, box: tuple[float, float, float, float] = (1, 2, 30, 40)):
    return Detection(TEST_PACK.class_names.index(class_name), class_name, confidence, Box(*box))


def image(
    n: int,
    detections: Sequence[Detection] = (),
    captured_at: datetime | None = None,
    tags: Sequence[str] = (),
) -> Item:
    """Image number n with one object per detection; vectors are seeded by n (objects by 1000n + i)."""
    record = ImageRecord(
        id=f"{n:064x}",
        path=f"/photos/img{n}.jpg",
        filename=f"img{n}.jpg",
        width=640,
        height=480,
        captured_at=captured_at,
        ingested_at=datetime(2025, 5, 1, 8, 30, n % 60, tzinfo=UTC),
        tags=tuple(tags),
        detections=tuple(detections),
        vector=unit_vector(n),
    )
    objects = [ObjectRecord(i, d, unit_vector(1000 * n + i)) for i, d in enumerate(detections)]
    return record, objects


def image_id(n: int) -> str:
    return f"{n:064x}"


def hit_ids(store: Store, flt: ImageFilter = ImageFilter(), query: int = 0, k: int = 50) -> set[str]:
    return {hit.record.id for hit in store.search_images(unit_vector(query), k, flt)}


def assert_same_record(got: ImageRecord, want: ImageRecord) -> None:
    assert got.vector is not None and want.vector is not None
    np.testing.assert_allclose(got.vector, want.vector, rtol=0, atol=1e-7)
    assert replace(got, vector=None) == replace(want, vector=None)


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()


@pytest.fixture
def filter_store(store: Store) -> Store:
    """Images 1-6 with known classes, dates and tags (image 6 is undated)."""
    store.upsert(
        [
            image(1, [detection("cat", 0.9)], day(1), ["pets", "it's home"]),
            image(2, [detection("dog", 0.5)], day(2), ["pets"]),
            image(3, [detection("cat", 0.4), detection("dog", 0.8)], day(3), ["park"]),
            image(4, [detection("person", 0.7)], day(4), []),
            image(5, [], day(5), ["park", 'quote"d']),
            image(6, [detection("cat", 0.6)], None, ["pets"]),
        ]
    )
    return store


# -- records ----------------------------------------------------------------------------------------


def test_store_satisfies_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_upsert_then_get_round_trips_every_field(store: Store) -> None:
    dets = [detection("cat", 0.91, (10.5, 20.25, 100.0, 200.75)), detection("traffic light", 0.33)]
    record, objects = image(7, dets, day(9), ["holiday", "o'neil"])
    store.upsert([(record, objects)])
    got = store.get(record.id)
    assert got is not None
    assert_same_record(got, record)


def test_naive_datetimes_are_stored_as_utc(store: Store) -> None:
    record, objects = image(8, captured_at=datetime(2024, 3, 1, 10, 0))
    store.upsert([(record, objects)])
    got = store.get(record.id)
    assert got is not None and got.captured_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_get_unknown_id_returns_none(store: Store) -> None:
    assert store.get(image_id(404)) is None


def test_existing_ids_returns_only_stored_ids(store: Store) -> None:
    store.upsert([image(1), image(2)])
    assert store.existing_ids([image_id(1), image_id(3), image_id(2), image_id(1)]) == {
        image_id(1),
        image_id(2),
    }
    assert store.existing_ids([]) == set()


def test_count_follows_upserts_and_deletes(store: Store) -> None:
    assert store.count() == 0
    store.upsert([image(1), image(2), image(3)])
    assert store.count() == 3
    assert store.delete(image_id(2)) is True
    assert store.count() == 2
    assert store.get(image_id(2)) is None


def test_delete_unknown_id_returns_false(store: Store) -> None:
    store.upsert([image(1)])
    assert store.delete(image_id(99)) is False
    assert store.count() == 1


def test_delete_removes_the_images_objects(store: Store) -> None:
    store.upsert([image(1, [detection("cat", 0.9)]), image(2, [detection("cat", 0.8)])])
    store.delete(image_id(1))
    hits = store.search_objects(unit_vector(1000), 10)
    assert [h.record.id for h in hits] == [image_id(2)]


def test_reupsert_replaces_the_record_and_its_objects(store: Store) -> None:
    store.upsert([image(1, [detection("cat", 0.9), detection("dog", 0.8)], tags=["old"])])
    new_record, new_objects = image(1, [detection("person", 0.7)], tags=["new"])
    store.upsert([(new_record, new_objects)])
    assert store.count() == 1
    got = store.get(image_id(1))
    assert got is not None and got.tags == ("new",)
    objects = store.search_objects(unit_vector(1000), 10)
    assert [(h.detection.class_name, h.object_index) for h in objects] == [("person", 0)]
    assert hit_ids(store, ImageFilter(classes=("cat",))) == set()


def test_repeated_id_in_one_batch_keeps_the_last(store: Store) -> None:
    first, second = image(1, tags=["first"]), image(1, tags=["second"])
    store.upsert([first, second])
    got = store.get(image_id(1))
    assert store.count() == 1 and got is not None and got.tags == ("second",)


def test_upserts_from_several_threads_all_land(store: Store) -> None:
    def ingest(start: int) -> None:
        for n in range(start, start + 5):
            store.upsert([image(n, [detection("dog", 0.5)])])

    threads = [threading.Thread(target=ingest, args=(100 * t,)) for t in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 20
    assert len(store.search_objects(unit_vector(0), 50)) == 20


# -- image search -----------------------------------------------------------------------------------


def test_search_ranks_the_query_image_first_with_cosine_score(store: Store) -> None:
    store.upsert([image(n) for n in range(1, 11)])
    hits = store.search_images(unit_vector(4), 10)
    assert hits[0].record.id == image_id(4)
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    want = float(unit_vector(4) @ unit_vector(int(hits[1].record.id, 16)))
    assert hits[1].score == pytest.approx(want, abs=1e-5)


def test_search_respects_k(store: Store) -> None:
    store.upsert([image(n) for n in range(1, 11)])
    assert len(store.search_images(unit_vector(0), 3)) == 3
    assert len(store.search_images(unit_vector(0), 50)) == 10


def test_class_filter_any_and_all(filter_store: Store) -> None:
    ids = [image_id(n) for n in range(7)]
    assert hit_ids(filter_store, ImageFilter(classes=("cat",))) == {ids[1], ids[3], ids[6]}
    assert hit_ids(filter_store, ImageFilter(classes=("cat", "person"))) == {ids[1], ids[3], ids[4], ids[6]}
    assert hit_ids(filter_store, ImageFilter(classes=("cat", "dog"), classes_mode="all")) == {ids[3]}


def test_min_confidence_includes_the_boundary(filter_store: Store) -> None:
    ids = [image_id(n) for n in range(7)]
    assert hit_ids(filter_store, ImageFilter(classes=("cat",), min_confidence=0.6)) == {ids[1], ids[6]}
    assert hit_ids(filter_store, ImageFilter(classes=("cat",), min_confidence=0.61)) == {ids[1]}
    assert hit_ids(
        filter_store, ImageFilter(classes=("cat", "dog"), classes_mode="all", min_confidence=0.4)
    ) == {ids[3]}
    assert (
        hit_ids(filter_store, ImageFilter(classes=("cat", "dog"), classes_mode="all", min_confidence=0.5))
        == set()
    )


def test_date_range_is_inclusive_and_drops_undated_images(filter_store: Store) -> None:
    ids = [image_id(n) for n in range(7)]
    assert hit_ids(filter_store, ImageFilter(date_from=day(2), date_to=day(4))) == {ids[2], ids[3], ids[4]}
    assert hit_ids(filter_store, ImageFilter(date_from=day(5))) == {ids[5]}
    assert hit_ids(filter_store, ImageFilter(date_to=day(1))) == {ids[1]}


def test_tags_match_any_of_and_survive_quotes(filter_store: Store) -> None:
    ids = [image_id(n) for n in range(7)]
    assert hit_ids(filter_store, ImageFilter(tags=("park", "nope"))) == {ids[3], ids[5]}
    assert hit_ids(filter_store, ImageFilter(tags=("it's home",))) == {ids[1]}
    assert hit_ids(filter_store, ImageFilter(tags=('quote"d',))) == {ids[5]}
    assert hit_ids(filter_store, ImageFilter(tags=("x') OR (1=1",))) == set()


def test_exclude_ids(filter_store: Store) -> None:
    ids = [image_id(n) for n in range(7)]
    excluded = ImageFilter(exclude_ids=(ids[1], ids[2]))
    assert hit_ids(filter_store, excluded) == {ids[3], ids[4], ids[5], ids[6]}


def test_filters_combine_with_and(filter_store: Store) -> None:
    flt = ImageFilter(
        classes=("cat", "dog"), date_from=day(2), tags=("pets", "park"), exclude_ids=(image_id(3),)
    )
    assert hit_ids(filter_store, flt) == {image_id(2)}


def test_unknown_class_raises_value_error_naming_it(filter_store: Store) -> None:
    with pytest.raises(ValueError, match="unicorn"):
        filter_store.search_images(unit_vector(0), 5, ImageFilter(classes=("unicorn",)))
    with pytest.raises(ValueError, match="unicorn"):
        filter_store.search_objects(unit_vector(0), 5, ObjectFilter(classes=("unicorn",)))
    with pytest.raises(ValueError, match="unicorn"):
        filter_store.list_images(5, flt=ImageFilter(classes=("unicorn",)))


# -- object search ----------------------------------------------------------------------------------


def test_object_search_returns_its_image_index_and_box(filter_store: Store) -> None:
    hits = filter_store.search_objects(unit_vector(3001), 1)  # image 3, object 1: the dog
    assert len(hits) == 1
    hit = hits[0]
    assert hit.record.id == image_id(3)
    assert hit.object_index == 1
    assert hit.detection == detection("dog", 0.8)
    assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_object_search_filters_on_class_and_confidence(filter_store: Store) -> None:
    def found(flt: ObjectFilter) -> set[tuple[str, int]]:
        return {(h.record.id, h.object_index) for h in filter_store.search_objects(unit_vector(0), 50, flt)}

    assert found(ObjectFilter(classes=("cat",))) == {(image_id(1), 0), (image_id(3), 0), (image_id(6), 0)}
    assert found(ObjectFilter(classes=("cat",), min_confidence=0.6)) == {(image_id(1), 0), (image_id(6), 0)}
    assert found(ObjectFilter(min_confidence=0.8)) == {(image_id(1), 0), (image_id(3), 1)}
    assert found(ObjectFilter(classes=("dog",), date_to=day(2))) == {(image_id(2), 0)}
    assert found(ObjectFilter(tags=("pets",))) == {(image_id(1), 0), (image_id(2), 0), (image_id(6), 0)}


def test_searches_of_an_empty_store_find_nothing(store: Store) -> None:
    assert store.search_images(unit_vector(0), 5) == []
    assert store.search_objects(unit_vector(0), 5) == []
    assert store.list_images(5) == []


def test_object_search_respects_k(filter_store: Store) -> None:
    assert len(filter_store.search_objects(unit_vector(0), 2)) == 2
    assert len(filter_store.search_objects(unit_vector(0), 50)) == 6


# -- browsing ---------------------------------------------------------------------------------------


def test_list_images_newest_capture_first_undated_last(filter_store: Store) -> None:
    listed = [r.id for r in filter_store.list_images(10)]
    assert listed == [image_id(n) for n in (5, 4, 3, 2, 1, 6)]


def test_list_images_pages_with_offset_and_filters(filter_store: Store) -> None:
    assert [r.id for r in filter_store.list_images(2, offset=2)] == [image_id(3), image_id(2)]
    assert [r.id for r in filter_store.list_images(10, flt=ImageFilter(tags=("pets",)))] == [
        image_id(2),
        image_id(1),
        image_id(6),
    ]


def test_pages_of_one_search_neither_repeat_nor_skip(store: Store) -> None:
    """Asking for offset + k results, page after page, as the search service does: through an HNSW
    graph whose search width grew with k, later pages reordered earlier ones."""
    store.upsert([image(n) for n in range(3_000)])
    for query in range(3_000, 3_005):
        seen: list[str] = []
        for offset in range(0, 400, 20):
            hits = store.search_images(unit_vector(query), offset + 20)
            seen += [hit.record.id for hit in hits[offset:]]
        assert len(seen) == len(set(seen)) == 400, query


def test_tag_counts_count_images_per_tag(filter_store: Store) -> None:
    assert filter_store.tag_counts() == {"pets": 3, "it's home": 1, "park": 2, 'quote"d': 1}
    filter_store.update_metadata([MetadataUpdate(image_id(4), add_tags=("park",))])
    filter_store.delete(image_id(6))
    assert filter_store.tag_counts() == {"pets": 2, "it's home": 1, "park": 3, 'quote"d': 1}


# -- opening ----------------------------------------------------------------------------------------


def test_reopen_with_another_model_pack_names_both(make_store: StoreFactory) -> None:
    make_store().upsert([image(1)])
    other = replace(TEST_PACK, model_id="other-pack-v2")
    with pytest.raises(ModelMismatchError) as raised:
        make_store(other)
    assert "test-pack-v1" in str(raised.value) and "other-pack-v2" in str(raised.value)
    with pytest.raises(ModelMismatchError, match="dim 32"):
        make_store(replace(TEST_PACK, dim=32))


def test_reopen_keeps_the_data(make_store: StoreFactory) -> None:
    make_store().upsert([image(1, [detection("cat", 0.9)])])
    reopened = make_store()
    assert reopened.count() == 1
    assert len(reopened.search_objects(unit_vector(0), 5)) == 1


def test_reopen_removes_objects_whose_image_row_is_missing(make_store: StoreFactory) -> None:
    store = make_store()
    store.upsert([image(1, [detection("cat", 0.9)])])
    crashed, crashed_objects = image(2, [detection("dog", 0.7), detection("cat", 0.5)])
    make_store.write_orphan_objects(store, crashed, crashed_objects)
    reopened = make_store()
    assert reopened.count() == 1
    hits = reopened.search_objects(unit_vector(2000), 10)
    assert [h.record.id for h in hits] == [image_id(1)]
    assert reopened.info().objects == 1


def test_info_counts_images_and_objects(filter_store: Store) -> None:
    info = filter_store.info()
    assert (info.images, info.objects, info.model_id, info.dim) == (6, 6, TEST_PACK.model_id, DIM)


def test_get_many_returns_the_stored_records_among_the_ids(store: Store) -> None:
    store.upsert([image(1, tags=["a"]), image(2)])
    records = {record.id: record for record in store.get_many([image(1)[0].id, "f" * 64, image(2)[0].id])}
    assert set(records) == {image(1)[0].id, image(2)[0].id}
    assert records[image(1)[0].id].tags == ("a",) and records[image(1)[0].id].path == "/photos/img1.jpg"
    assert store.get_many([]) == []


def test_update_metadata_changes_path_and_adds_tags_to_the_images_and_their_objects(store: Store) -> None:
    record, objects = image(1, [detection("cat", 0.9), detection("dog", 0.7)], tags=["old"])
    other, other_objects = image(2, [detection("cat", 0.8)], tags=["old"])
    untouched = image(3, [detection("cat", 0.8)], tags=["old"])
    store.upsert([(record, objects), (other, other_objects), untouched])
    missing = MetadataUpdate("f" * 64, add_tags=("x",))
    updates = [
        MetadataUpdate(record.id, path="/moved/img1.jpg", add_tags=("new", "old")),
        MetadataUpdate(other.id, add_tags=("other",)),
        MetadataUpdate(other.id, add_tags=("more", "other")),  # one id's updates apply in order
        missing,
    ]
    assert store.update_metadata(updates) == {record.id, other.id}  # the missing one is ignored
    updated = store.get(record.id)
    assert updated is not None
    assert updated.path == "/moved/img1.jpg" and updated.tags == ("old", "new")
    assert updated.detections == record.detections and updated.vector is not None
    np.testing.assert_allclose(updated.vector, record.vector, atol=1e-6)  # the vectors stay
    assert store.get(other.id).path == other.path and store.get(other.id).tags == ("old", "other", "more")
    assert store.get(untouched[0].id).tags == ("old",)
    new_only = ImageFilter(tags=("new",))
    assert [hit.record.id for hit in store.search_images(record.vector, 5, new_only)] == [record.id]
    found = store.search_objects(objects[0].vector, 5, ObjectFilter(tags=("new",)))
    assert sorted((hit.record.id, hit.object_index) for hit in found) == [(record.id, 0), (record.id, 1)]
    assert {hit.record.path for hit in found} == {"/moved/img1.jpg"}
    tagged_more = store.search_objects(objects[0].vector, 5, ObjectFilter(tags=("more",)))
    assert [hit.record.id for hit in tagged_more] == [other.id]
    # Nothing new: not a change.
    assert (
        store.update_metadata([MetadataUpdate(record.id, path="/moved/img1.jpg", add_tags=("new",))]) == set()
    )
    assert store.update_metadata([MetadataUpdate(record.id, add_tags=("last",))]) == {record.id}
    assert store.get(record.id).tags == ("old", "new", "last")
    assert store.get(record.id).path == "/moved/img1.jpg"  # left as it was
    assert store.update_metadata([missing]) == set() and store.update_metadata([]) == set()
    assert store.count() == 3


def test_concurrent_tag_updates_of_one_image_add_up(store: Store) -> None:
    record, objects = image(1, [detection("cat", 0.9)], tags=["base"])
    store.upsert([(record, objects)])
    tags = [f"t{n}" for n in range(8)]
    with ThreadPoolExecutor(len(tags)) as pool:
        list(pool.map(lambda tag: store.update_metadata([MetadataUpdate(record.id, add_tags=(tag,))]), tags))
    stored = store.get(record.id)
    assert stored is not None and stored.tags[0] == "base" and set(stored.tags) == {"base", *tags}
    found = store.search_objects(objects[0].vector, 5, ObjectFilter(tags=(tags[-1],)))
    assert [hit.record.id for hit in found] == [record.id]


def test_ids_with_prefix_finds_short_ids(store: Store) -> None:
    store.upsert([image(0x1234), image(0x1235), image(0x2000)])
    full = image(0x2000)[0].id
    assert store.ids_with_prefix(full[:61]) == [full]
    assert sorted(store.ids_with_prefix("0" * 60 + "123")) == [image(0x1234)[0].id, image(0x1235)[0].id]
    assert store.ids_with_prefix("f" * 12) == []
    with pytest.raises(ValueError, match="not an image id prefix"):
        store.ids_with_prefix("12' OR '1'='1")
