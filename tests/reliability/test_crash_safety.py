"""kill -9 of a live `pixseek serve` while clients ingest; after a restart nothing acknowledged is lost.

The CLI's own kill -9 test (an `index` run killed mid-folder, then resumed) is
tests/test_cli.py::test_killed_index_run_resumes_to_the_same_count.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import lancedb

from pixseek.index.lance_schema import IMAGES_TABLE, OBJECTS_TABLE
from pixseek.models.starter.pack import StarterPack
from tests.reliability.conftest import all_ids_by_search, photo_jpeg, record_figures, started_server, upload

CLIENTS = 6
ACKS_BEFORE_KILL = 30


def test_every_acknowledged_ingest_survives_a_kill_9(tmp_path: Path, starter_pack: StarterPack) -> None:
    db = tmp_path / "db"
    acked: dict[str, bytes] = {}
    lock = threading.Lock()
    failures: list[str] = []

    with started_server(tmp_path, starter_pack, db) as (base_url, pid):

        def ingest(client: int) -> None:
            with httpx.Client(base_url=base_url, timeout=60) as http:
                for n in itertools.count():
                    data = photo_jpeg(client * 1_000_000 + n)
                    try:
                        response = http.post("/ingest/image", files=upload(data, f"c{client}-{n}.jpg"))
                    except httpx.TransportError:
                        return  # the server is gone
                    if response.status_code != 200:
                        failures.append(response.text)
                        return
                    with lock:
                        acked[response.json()["image_id"]] = data

        threads = [threading.Thread(target=ingest, args=(client,)) for client in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acked) < ACKS_BEFORE_KILL and time.monotonic() < deadline and not failures:
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)  # with CLIENTS requests in flight
        for thread in threads:
            thread.join(timeout=60)
    assert not failures and len(acked) >= ACKS_BEFORE_KILL

    # Started means the store opened cleanly: /health answers 200.
    with (
        started_server(tmp_path, starter_pack, db) as (base_url, _),
        httpx.Client(base_url=base_url, timeout=60) as http,
    ):
        missing = [i for i in acked if http.get(f"/images/{i}").status_code != 200]
        found = all_ids_by_search(http)
        stored = http.get("/health").json()["store"]
    assert not missing
    assert set(acked) <= set(found)
    assert len(found) == len(set(found)) == stored["images"]  # no duplicates

    images = lancedb.connect(db / "lance").open_table(IMAGES_TABLE).to_arrow().to_pylist()
    objects = lancedb.connect(db / "lance").open_table(OBJECTS_TABLE).to_arrow()
    ids = [row["id"] for row in images]
    assert len(ids) == len(set(ids))
    objects_per_image = Counter(objects["image_id"].to_pylist())
    detections = {row["id"]: len(json.loads(row["detections"])) for row in images}
    assert set(objects_per_image) <= set(ids)  # no object without its image
    assert all(objects_per_image[i] == n for i, n in detections.items())  # no image without its objects
    assert sum(detections.values()) > len(ids)  # the photos do have objects: the check above means something
    record_figures("crash_safety", clients=CLIENTS, acknowledged=len(acked), stored=len(ids),
                   unacknowledged_but_stored=len(ids) - len(acked), objects=objects.num_rows)  # fmt: skip
