"""Several processes on one LanceDB store (API workers, a CLI index beside the server)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from pixseek.index.lance_store import LanceStore
from tests.index.conftest import TEST_PACK
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
