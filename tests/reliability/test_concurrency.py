"""8 clients ingesting while 8 clients search, for 60 s, against a live server on loopback.

PIXSEEK_RELIABILITY_SECONDS shortens the run for local work; CI runs the full minute. Ingest
clients also post images other clients post at the same moment, so duplicates race each other.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from pixseek.models.starter.pack import StarterPack
from tests.reliability.conftest import (
    all_ids_by_search,
    photo_jpeg,
    record_figures,
    run_seconds,
    started_server,
    upload,
)

INGESTERS = SEARCHERS = 8
WORDS = ("a bus", "a person", "a cat on a sofa", "people on a street", "a red car", "a dog", "tie", "sky")


def test_ingest_and_search_together_without_errors(tmp_path: Path, starter_pack: StarterPack) -> None:
    duration = run_seconds(60)
    acked: set[str] = set()
    errors: list[str] = []
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def note(kind: str, response: httpx.Response) -> None:
        with lock:
            calls[kind] += 1
            if response.status_code != 200:
                errors.append(f"{kind}: {response.status_code} {response.text[:200]}")

    def ingest(http: httpx.Client, client: int, n: int) -> None:
        shared = n % 4 == 0  # every fourth image is posted by all ingesters, at about the same time
        data = photo_jpeg(10**9 + n if shared else client * 10**6 + n)
        response = http.post(
            "/ingest/image", files=upload(data, f"c{client}-{n}.jpg"), params={"tags": "load"}
        )
        note("ingest", response)
        if response.status_code == 200:
            with lock:
                acked.add(response.json()["image_id"])

    def search(http: httpx.Client, client: int, n: int) -> None:
        rng = random.Random(client * 10**6 + n)
        with lock:
            known = rng.choice(sorted(acked)) if acked else None
        kind = rng.choice(
            ("text", "hybrid", "objects", "image", "thumbnail", "similar") if known else ("text",)
        )
        query = rng.choice(WORDS)
        if kind == "text":
            response = http.get("/search/text", params={"q": query, "k": rng.choice((5, 50))})
        elif kind == "hybrid":
            body = {"text_query": query, "yolo_classes": ["person"], "tags": ["load"], "k": 20}
            response = http.post("/search/hybrid", json=body)
        elif kind == "objects":
            response = http.post("/search/objects", json={"text_query": query, "min_confidence": 0.3})
        elif kind == "image":
            response = http.get(f"/images/{known}")
        elif kind == "thumbnail":
            response = http.get(f"/images/{known}/thumbnail", params={"size": rng.choice((64, 128))})
        else:
            response = http.get(f"/images/{known}/similar", params={"k": 10})
        note(kind, response)

    with started_server(tmp_path, starter_pack) as (base_url, _):
        deadline = time.monotonic() + duration

        def client(work: object, number: int) -> None:
            with httpx.Client(base_url=base_url, timeout=60) as http:
                n = 0
                while time.monotonic() < deadline:
                    try:
                        work(http, number, n)  # type: ignore[operator]
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}")
                    n += 1

        threads = [threading.Thread(target=client, args=(ingest, n)) for n in range(INGESTERS)]
        threads += [threading.Thread(target=client, args=(search, n)) for n in range(SEARCHERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 120)
        elapsed = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads)
        with httpx.Client(base_url=base_url, timeout=60) as http:
            stored = http.get("/health").json()["store"]["images"]
            found = all_ids_by_search(http, k=max(1000, len(acked) + 10))

    record_figures("concurrency", seconds=round(elapsed, 1), ingesters=INGESTERS, searchers=SEARCHERS,
                   requests=sum(calls.values()), by_kind=dict(calls), errors=len(errors),
                   acknowledged_distinct=len(acked), stored=stored)  # fmt: skip
    assert errors == []
    assert calls["ingest"] > INGESTERS and sum(calls.values()) - calls["ingest"] > SEARCHERS
    assert stored == len(acked) == len(found) == len(set(found))
    assert set(found) == acked
