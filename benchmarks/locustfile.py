"""Mixed traffic against `pixseek serve`: text, hybrid and similar searches, and ingests of new images.

Run by `benchmarks/run_locust.py`, which starts the server on a loopback port with the package samples
ingested; by hand: `locust -f benchmarks/locustfile.py --headless --host http://127.0.0.1:8000
--users 16 --spawn-rate 16 --run-time 60s`.

Every ingest posts an image nobody has posted before (a random crop of a sample photo), so each one
runs the models and writes to the store rather than answering "exists".
"""

from __future__ import annotations

import io
import itertools
import random
import threading
from typing import Any

from locust import HttpUser, between, events, task
from PIL import Image

from pixseek.samples import sample_images

TEXT_QUERIES = ("a cat", "a cup of coffee", "a rocket", "a motorcycle", "a bus", "people", "stars", "grass")
HYBRID_CLASSES = (["person"], ["cat"], ["bus", "car"], ["motorcycle"])
UPLOAD_SIDE = 320  # pixels: phone-photo detail is not what this test is about
K = 10


class UniqueImages:
    """JPEGs never seen before: random crops of the sample photos, made on demand."""

    def __init__(self, seed: int = 0) -> None:
        self._sources = [Image.open(path).convert("RGB") for path in sample_images()]
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def next_jpeg(self) -> bytes:
        with self._lock:
            source = self._random.choice(self._sources)
            w, h = source.size
            cw, ch = int(w * self._random.uniform(0.5, 0.9)), int(h * self._random.uniform(0.5, 0.9))
            x, y = self._random.randint(0, w - cw), self._random.randint(0, h - ch)
        crop = source.crop((x, y, x + cw, y + ch))
        crop.thumbnail((UPLOAD_SIDE, UPLOAD_SIDE))
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument("--stored-ids", default="", help="comma-separated image ids for similar requests")


IMAGES = UniqueImages()
_names = itertools.count()


class SearchUser(HttpUser):
    """Mostly searches, some ingests, with a short pause between requests as a person's UI would."""

    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        named = self.environment.parsed_options.stored_ids if self.environment.parsed_options else ""
        if named:  # the runner names them, so that no setup request joins the figures
            self.stored_ids = named.split(",")
        else:
            hits = self.client.get("/search/text", params={"q": "a photo", "k": 50}, name="setup").json()
            self.stored_ids = [hit["image_id"] for hit in hits]

    @task(5)
    def text(self) -> None:
        self.client.get("/search/text", params={"q": random.choice(TEXT_QUERIES), "k": K}, name="text")

    @task(3)
    def hybrid(self) -> None:
        body = {
            "text_query": random.choice(TEXT_QUERIES),
            "yolo_classes": random.choice(HYBRID_CLASSES),
            "k": K,
        }
        self.client.post("/search/hybrid", json=body, name="hybrid")

    @task(3)
    def similar(self) -> None:
        image_id = random.choice(self.stored_ids)
        self.client.get(f"/images/{image_id}/similar", params={"k": K}, name="similar")

    @task(1)
    def similar_upload(self) -> None:
        files = {"image": ("query.jpg", IMAGES.next_jpeg(), "image/jpeg")}
        self.client.post("/search/similar", files=files, params={"k": K}, name="similar_upload")

    @task(1)
    def ingest(self) -> None:
        files = {"image": (f"new-{next(_names)}.jpg", IMAGES.next_jpeg(), "image/jpeg")}
        self.client.post("/ingest/image", files=files, name="ingest")
