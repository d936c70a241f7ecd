"""Ingest capacity (PIXSEEK_MAX_PENDING_INGESTS=2) against a live server, with real slow uploads.

An upload holds a slot from its first byte to its answer; beyond capacity uploads are answered 503
with Retry-After and their bodies are dropped as they arrive, so they cost the server no memory.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from pixseek.models.starter.pack import StarterPack
from tests.reliability.conftest import (
    BOUNDARY,
    RawRequest,
    multipart_body,
    noise_png,
    photo_jpeg,
    raw_upload,
    record_figures,
    rss_kib,
    started_server,
    upload,
    wait_for,
)

CAPACITY = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, starter_pack: StarterPack) -> Iterator[tuple[str, int]]:
    root = tmp_path_factory.mktemp("back-pressure")
    with started_server(root, starter_pack, env={"PIXSEEK_MAX_PENDING_INGESTS": str(CAPACITY)}) as running:
        yield running


def hold_every_slot(base_url: str, seed: int) -> list[tuple[RawRequest, bytes]]:
    """CAPACITY uploads that sent their headers and half their body, then stalled (slow clients)."""
    held = []
    for n in range(CAPACITY):
        body = multipart_body(photo_jpeg(seed + n), f"slow-{seed + n}.jpg")
        request = raw_upload(base_url, body)
        request.send(body[: len(body) // 2])
        held.append((request, body[len(body) // 2 :]))

    def refused() -> bool:  # the slots are taken once the server has seen the stalled requests
        return httpx.post(f"{base_url}/ingest/image", files=upload(noise_png(seed))).status_code == 503

    wait_for(refused, 30, "the stalled uploads to hold every ingest slot")
    return held


def finish(held: list[tuple[RawRequest, bytes]]) -> list[int]:
    statuses = []
    for request, rest in held:
        request.send(rest)
        statuses.append(request.response()[0])
    return statuses


def test_uploads_beyond_capacity_get_503_at_once_while_slow_uploads_hold_it(server: tuple[str, int]) -> None:
    base_url, _ = server
    held = hold_every_slot(base_url, seed=1000)
    extra = [photo_jpeg(2000 + n) for n in range(6)]

    def post(data: bytes) -> tuple[int, str | None, float]:
        started = time.monotonic()
        response = httpx.post(f"{base_url}/ingest/image", files=upload(data), timeout=30)
        return response.status_code, response.headers.get("retry-after"), time.monotonic() - started

    with ThreadPoolExecutor(len(extra)) as pool:
        answers = list(pool.map(post, extra))
    assert all(status == 503 and retry and int(retry) > 0 for status, retry, _ in answers), answers
    assert max(seconds for *_, seconds in answers) < 10  # answered, not queued behind the slow ones

    assert finish(held) == [200] * CAPACITY
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for data in extra:  # refused means not stored
            assert http.get(f"/images/{hashlib.sha256(data).hexdigest()}").status_code == 404
        assert http.post("/ingest/image", files=upload(extra[0])).status_code == 200  # capacity is back


def test_a_flood_beyond_capacity_costs_the_server_no_memory(server: tuple[str, int]) -> None:
    base_url, pid = server
    held = hold_every_slot(base_url, seed=3000)
    flood, size = 48, 4 * 2**20  # 192 MiB of uploads, all refused
    body = multipart_body(np.random.default_rng(7).bytes(size), "flood.jpg")
    before, peak = rss_kib(pid), [rss_kib(pid)]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak.append(rss_kib(pid))
            time.sleep(0.005)

    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

    def post(_: int) -> int:
        return httpx.post(f"{base_url}/ingest/image", content=body, headers=headers, timeout=60).status_code

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(post, range(flood)))
    finally:
        sampling.set()
        sampler.join()
    growth_mib = (max(peak) - before) / 1024
    assert finish(held) == [200] * CAPACITY
    record_figures("back_pressure_flood", uploads=flood, upload_mib=size // 2**20,
                   refused=statuses.count(503), rss_growth_mib=round(growth_mib, 1),
                   seconds=round(time.monotonic() - started, 1))  # fmt: skip
    assert statuses == [503] * flood
    assert growth_mib < 32, f"server memory grew {growth_mib:.0f} MiB for {flood} refused uploads"


def test_clients_that_honour_retry_after_all_get_their_images_stored(server: tuple[str, int]) -> None:
    base_url, _ = server
    images = {f"c{client}-{n}": photo_jpeg(5000 + 10 * client + n) for client in range(8) for n in range(5)}
    statuses: list[int] = []

    def post_until_stored(name: str) -> str:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            while True:
                response = http.post("/ingest/image", files=upload(images[name], f"{name}.jpg"))
                statuses.append(response.status_code)
                if response.status_code != 503:
                    assert response.status_code == 200, response.text
                    return str(response.json()["image_id"])
                time.sleep(min(float(response.headers["retry-after"]), 0.5))  # scaled down: a test

    with ThreadPoolExecutor(8) as pool:
        stored = set(pool.map(post_until_stored, images))
    assert set(statuses) == {200, 503}  # capacity was exceeded, and only ever answered with 503
    assert len(stored) == len(images)
    with httpx.Client(base_url=base_url, timeout=30) as http:
        assert all(http.get(f"/images/{image_id}").status_code == 200 for image_id in stored)
    record_figures("back_pressure_retry", clients=8, images=len(images), requests=len(statuses),
                   refused=statuses.count(503))  # fmt: skip
