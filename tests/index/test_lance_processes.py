"""Several processes on one LanceDB store (API workers, a CLI index beside the server)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from pixseek.index import lance_store
from pixseek.index.lance_schema import object_rows
from pixseek.index.lance_store import LanceStore
from tests.index.conftest import TEST_PACK, SimulatedCrash
from tests.index.test_store_contract import detection, image

WRITERS, TAGS_EACH = 3, 4

ADD_TAGS = """
import sys, time
from pixseek.index.lance_store import LanceStore
from pixseek.index.protocol import MetadataUpdate
from tests.index.conftest import TEST_PACK

folder, image_id, writer, start_at = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
store = LanceStore(folder, TEST_PACK)
time.sleep(max(0.0, start_at - time.time()))  # all writers start together
for n in range({tags}):
    store.update_metadata([MetadataUpdate(image_id, add_tags=(f"w{{writer}}-{{n}}",))])
store.close()
"""


def test_tags_added_by_several_processes_at_once_all_stay(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    record, objects = image(1, [detection("cat", 0.9)], tags=["base"])
    store = LanceStore(folder, TEST_PACK)
    store.upsert([(record, objects)])
    start_at = str(time.time() + 8)  # past every writer's imports
    script = ADD_TAGS.format(tags=TAGS_EACH)
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(folder), record.id, str(w), start_at])
        for w in range(WRITERS)
    ]
    assert [writer.wait(timeout=180) for writer in writers] == [0] * WRITERS
    store.close()
    stored = LanceStore(folder, TEST_PACK).get(record.id)
    expected = {"base"} | {f"w{w}-{n}" for w in range(WRITERS) for n in range(TAGS_EACH)}
    assert stored is not None and set(stored.tags) == expected and stored.tags[0] == "base"


UPSERT = """
import sys, time
from pixseek.index.lance_store import LanceStore
from tests.index.conftest import TEST_PACK
from tests.index.test_store_contract import image

folder, start_at = sys.argv[1], float(sys.argv[2])
store = LanceStore(folder, TEST_PACK)
time.sleep(max(0.0, start_at - time.time()))
for first in range(0, {images}, 5):  # the same new images, in the same batches, as the other writers
    store.upsert([image(n) for n in range(first, first + 5)])
store.close()
"""


def test_processes_storing_the_same_new_images_at_once_store_each_once(tmp_path: Path) -> None:
    folder, images = tmp_path / "store", 30
    LanceStore(folder, TEST_PACK).close()
    start_at = str(time.time() + 8)
    writers = [
        subprocess.Popen([sys.executable, "-c", UPSERT.format(images=images), str(folder), start_at])
        for _ in range(WRITERS)
    ]
    assert [writer.wait(timeout=180) for writer in writers] == [0] * WRITERS
    store = LanceStore(folder, TEST_PACK)
    listed = [record.id for record in store.list_images(1000)]
    assert store.count() == len(listed) == len(set(listed)) == images  # no duplicate rows
    assert store.info().objects == 0


def test_a_store_that_cannot_be_written_still_opens_and_repairs_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash left orphan objects and a journal entry; the next open is on a read-only or full disk."""
    folder = tmp_path / "store"
    store = LanceStore(folder, TEST_PACK)
    kept, crashed = image(1, [detection("cat", 0.9)]), image(2, [detection("dog", 0.8)])
    store.upsert([kept])
    with contextlib.suppress(SimulatedCrash), store._journal.writing([crashed[0].id]):
        store._objects.add(
            pa.Table.from_pylist(
                object_rows(crashed[0], crashed[1], TEST_PACK.dim), schema=store._objects_schema
            )
        )
        raise SimulatedCrash
    store.close()

    def read_only(_path: Path) -> None:
        raise OSError(30, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(lance_store, "held_lock", read_only)
        opened = LanceStore(folder, TEST_PACK)  # was: the failed repair made every open fail
        assert [hit.record.id for hit in opened.search_images(kept[0].vector, 5)] == [kept[0].id]
        assert opened.info().objects == 2  # the orphan is still there, never returned by a search
        opened.close()
    repaired = LanceStore(folder, TEST_PACK)
    assert repaired.info().objects == 1
