"""Ingest through the real starter pack into a real LanceDB store."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.index.protocol import ImageRecord, MetadataUpdate, ObjectFilter, Store
from pixseek.ingest.folder import MAX_FILE_BYTES, find_images, index_paths
from pixseek.ingest.pipeline import IngestItem, IngestResult, content_id, ready_images
from pixseek.models.protocols import ModelPack
from tests.helpers import bad_image_files, copy_samples

SOME_SAMPLES = ("chelsea", "coffee", "bus", "rocket")


@pytest.fixture()
def engine(tmp_path: Path, starter_pack: ModelPack) -> Iterator[Engine]:
    opened = Engine.open(Settings(db=tmp_path / "db"), pack=starter_pack)
    yield opened
    opened.close()


def test_folder_index_stores_images_detections_and_object_vectors(engine: Engine, tmp_path: Path) -> None:
    paths = copy_samples(tmp_path / "photos", SOME_SAMPLES)
    report = index_paths(engine.ingestor, find_images(tmp_path / "photos"), ("trip",), progress=False)
    assert report.indexed == len(paths) == 4 and not report.rejected
    assert engine.store.count() == 4
    bus = next(hit.record for hit in engine.search.objects("a person", flt=ObjectFilter(classes=("person",))))
    assert bus.filename.endswith("bus.jpg")
    assert bus.tags == ("trip",)
    stored = engine.store.get(bus.id)
    assert stored is not None and stored.vector is not None
    assert abs(float(np.linalg.norm(stored.vector)) - 1.0) < 1e-4
    persons = [d for d in bus.detections if d.class_name == "person"]
    assert len(persons) >= 3
    assert engine.store.info().objects == sum(len(r.detections) for r in all_records(engine))


def test_indexing_the_same_folder_twice_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    copy_samples(tmp_path / "photos", SOME_SAMPLES)
    paths = find_images(tmp_path / "photos")
    first = index_paths(engine.ingestor, paths, progress=False)
    objects_before = engine.store.info().objects
    second = index_paths(engine.ingestor, paths, progress=False)
    assert (first.indexed, second.indexed, second.existing) == (4, 0, 4)
    assert engine.store.count() == 4
    assert engine.store.info().objects == objects_before


def test_same_bytes_under_two_names_are_one_image(engine: Engine, tmp_path: Path) -> None:
    data = (copy_samples(tmp_path / "p", ("chelsea",))[0]).read_bytes()
    results = engine.ingestor.ingest([IngestItem(data, "a.png"), IngestItem(data, "b.png")])
    assert [r.status for r in results] == ["indexed", "exists"]
    assert results[0].image_id == results[1].image_id
    assert engine.store.count() == 1


def test_copies_of_a_new_image_in_one_batch_are_stored_once_with_all_their_tags(
    engine: Engine, tmp_path: Path
) -> None:
    data = copy_samples(tmp_path / "p", ("coffee",))[0].read_bytes()
    items = [IngestItem(data, "a.png", tags=("a",)), IngestItem(data, "b.png", tags=("b", "a"))]
    results = engine.ingestor.ingest(items)
    assert [r.status for r in results] == ["indexed", "exists"]
    record = engine.store.get(results[0].image_id or "")
    assert record is not None and record.tags == ("a", "b") and record.filename == "a.png"


def test_bad_files_are_reported_and_skipped_and_the_store_is_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    copy_samples(folder, ("chelsea",))
    index_paths(engine.ingestor, find_images(folder), progress=False)
    before = {r.id for r in all_records(engine)}
    for name, data in bad_image_files().items():
        (folder / name).write_bytes(data)
    (folder / "notes.txt").write_text("not an image, skipped by extension")
    report = index_paths(engine.ingestor, find_images(folder), progress=False)
    reasons = {Path(path).name: reason for path, reason in report.rejected}
    assert set(reasons) == set(bad_image_files())
    assert "empty" in reasons["empty.jpg"]
    assert "too large" in reasons["bomb.png"]
    assert "not an image" in reasons["not_an_image.png"]
    assert "truncated" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert report.existing == 1 and report.indexed == 0
    assert {r.id for r in all_records(engine)} == before


def test_uploaded_bytes_are_kept_in_the_store_media_folder(engine: Engine, tmp_path: Path) -> None:
    data = copy_samples(tmp_path / "p", ("coffee",))[0].read_bytes()
    [result] = engine.ingestor.ingest([IngestItem(data, "../../etc/passwd", tags=(" x ", "x", ""))])
    record = engine.store.get(result.image_id or "")
    assert record is not None
    assert record.filename == "passwd"
    assert record.tags == ("x",)
    assert Path(record.path).read_bytes() == data
    assert engine.media.owns(Path(record.path))
    assert engine.delete_image(record.id)
    assert not Path(record.path).exists()
    assert engine.store.get(record.id) is None


def all_records(engine: Engine) -> list[ImageRecord]:
    return engine.store.list_images(1000)


def test_the_next_batch_is_queued_for_the_models_before_a_batch_is_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    submit, upsert = engine.ingestor._analysis.submit, engine.store.upsert

    def logged_submit(analyzer: Any, images: Any) -> Any:
        events.append(f"analyze {len(images)}")
        return submit(analyzer, images)

    def logged_upsert(items: Any) -> None:
        events.append(f"write {len(items)}")
        upsert(items)

    monkeypatch.setattr(engine.ingestor._analysis, "submit", logged_submit)
    monkeypatch.setattr(engine.store, "upsert", logged_upsert)
    paths = copy_samples(tmp_path / "photos", SOME_SAMPLES)  # 4 images: batches of 3 and 1
    report = index_paths(engine.ingestor, paths, batch_size=3, progress=False)
    assert report.indexed == 4
    assert events == ["analyze 3", "analyze 1", "write 3", "write 1"]


def test_new_tags_for_known_images_are_added_without_analysing_them_again(
    engine: Engine, tmp_path: Path
) -> None:
    paths = copy_samples(tmp_path / "photos", ("chelsea", "coffee"))
    index_paths(engine.ingestor, paths, ("trip",), progress=False)
    analysed = engine.ingestor.times.images
    writes = UpdateCounter(engine.store)
    engine.ingestor.store = writes
    again = index_paths(engine.ingestor, paths, ("cats", "trip"), progress=False)
    assert (again.indexed, again.existing, again.updated) == (0, 2, 2)
    assert engine.ingestor.times.images == analysed  # no model ran
    assert writes.calls == [2]  # one store write for the batch, not one per image
    assert {record.tags for record in all_records(engine)} == {("trip", "cats")}
    unchanged = index_paths(engine.ingestor, paths, ("cats",), progress=False)
    assert (unchanged.existing, unchanged.updated) == (2, 0)  # nothing new: a no-op


def test_tags_of_two_uploads_of_the_same_new_image_at_once_are_both_kept(
    engine: Engine, tmp_path: Path
) -> None:
    """Both requests analyse the image (neither saw it stored); the second to write adds its tags."""
    data = copy_samples(tmp_path / "p", ("coffee",))[0].read_bytes()
    first = engine.ingestor.prepare([IngestItem(data, "a.png", tags=("a", "shared"))])
    second = engine.ingestor.prepare([IngestItem(data, "b.png", tags=("b", "shared"))])
    [stored] = engine.ingestor.commit(ready_images(first))
    [again] = engine.ingestor.commit(ready_images(second))
    assert (stored.status, again.status, again.updated) == ("indexed", "exists", True)
    assert again.num_detections == stored.num_detections
    record = engine.store.get(stored.image_id or "")
    assert record is not None and record.tags == ("a", "shared", "b")
    same = engine.ingestor.prepare(
        [IngestItem(data, "c.png", tags=("b",)), IngestItem(data, "d.png", tags=("d",))]
    )
    assert [(r.status, r.updated) for r in same if isinstance(r, IngestResult)] == [
        ("exists", False),
        ("exists", True),
    ]
    assert engine.store.get(stored.image_id or "").tags == ("a", "shared", "b", "d")


def test_a_moved_file_is_relinked_only_when_its_old_path_is_gone(engine: Engine, tmp_path: Path) -> None:
    (cat,) = copy_samples(tmp_path / "before", ("chelsea",))
    index_paths(engine.ingestor, [cat], progress=False)
    image_id = content_id(cat.read_bytes())
    copy = tmp_path / "copy" / cat.name
    copy.parent.mkdir()
    copy.write_bytes(cat.read_bytes())
    assert index_paths(engine.ingestor, [copy], progress=False).updated == 0  # the original is still there
    assert stored_path(engine, image_id) == cat.resolve()

    moved = tmp_path / "after" / cat.name
    moved.parent.mkdir()
    cat.rename(moved)
    report = index_paths(engine.ingestor, [moved], progress=False)
    assert (report.existing, report.updated) == (1, 1)
    assert stored_path(engine, image_id) == moved.resolve()


class UpdateCounter:
    """A real store that records the size of each `update_metadata` call."""

    def __init__(self, store: Store) -> None:
        self.inner, self.calls = store, list[int]()

    def update_metadata(self, updates: Sequence[MetadataUpdate]) -> set[str]:
        self.calls.append(len(updates))
        return self.inner.update_metadata(updates)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def stored_path(engine: Engine, image_id: str) -> Path:
    record = engine.store.get(image_id)
    assert record is not None
    return Path(record.path)


def test_files_that_are_not_regular_or_have_non_utf8_names_are_rejected_the_rest_indexed(
    engine: Engine, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    copy_samples(photos, ("chelsea", "coffee"))
    os.mkfifo(photos / "pipe.jpg")  # reading it would block for ever
    (photos / "zero.jpg").symlink_to("/dev/zero")  # reading it would never end
    (photos / os.fsdecode(b"caf\xe9.png")).write_bytes(b"never read")
    with (photos / "huge.jpg").open("wb") as huge:  # sparse: no disk used, never read
        huge.truncate(MAX_FILE_BYTES + 1)
    report = index_paths(engine.ingestor, find_images(photos), progress=False)
    reasons = {Path(path).name: reason for path, reason in report.rejected}
    assert report.indexed == 2 and engine.store.count() == 2
    assert reasons["pipe.jpg"] == reasons["zero.jpg"] == "not a regular file"
    assert "not valid UTF-8" in reasons[os.fsdecode(b"caf\xe9.png")]
    assert reasons["huge.jpg"].startswith("file too large")


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "photos" / "locked"
    locked.mkdir(parents=True)
    (coffee,) = copy_samples(tmp_path / "photos", ("coffee",))
    listing = os.scandir

    def scandir(path: Any) -> Any:  # what a folder without read permission does (root ignores modes)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    unlisted: list[tuple[str, str]] = []
    assert find_images(tmp_path / "photos", unlisted) == [coffee]
    assert unlisted == [(str(locked), "cannot list folder: Permission denied")]


def test_images_deep_down_a_folder_tree_are_found(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for _ in range(1_100):  # deeper than Python's recursion limit
        folder = folder / "d"
        folder.mkdir()
    (coffee,) = copy_samples(folder, ("coffee",))
    (link := tmp_path / "photos" / "loop").symlink_to(tmp_path / "photos")  # not followed
    (tmp_path / "photos" / "album.jpg").symlink_to(tmp_path / "photos")  # a folder, whatever its name
    try:
        assert find_images(tmp_path / "photos") == [coffee] and link.is_dir()
    finally:  # bottom up: pytest's clean-up (shutil.rmtree) would recurse too deep
        coffee.unlink()
        while folder != tmp_path / "photos":
            folder.rmdir()
            folder = folder.parent
