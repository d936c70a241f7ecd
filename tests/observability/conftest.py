"""One live API (`pixseek serve`, JSON logs) and one Prometheus scraping it, shared by this package."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tests.helpers import bad_image_files
from tests.observability.servers import (
    API_JOB,
    PROMETHEUS,
    PrometheusProcess,
    ServeProcess,
    prometheus_config,
    wait_for,
)

from pixseek.samples import sample_images

needs_prometheus = pytest.mark.skipif(
    not PROMETHEUS.exists(), reason="needs Debian's prometheus package (/usr/bin/prometheus)"
)

SAMPLE_STEMS = ("chelsea", "coffee", "astronaut")


@dataclass
class Traffic:
    """What the traffic did, for the tests to look for."""

    image_ids: list[str] = field(default_factory=list)
    request_id: str = "obs-test-request-42"
    finished_at: float = 0.0


@pytest.fixture(scope="package")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="package")
def live_api(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[ServeProcess]:
    """`pixseek serve` (one worker, starter pack, a fresh store) logging JSON lines."""
    work = tmp_path_factory.mktemp("live-api")
    server = ServeProcess(work / "db", model_cache, work / "serve.log", PIXSEEK_LOG_JSON="1")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def drive_traffic(api: ServeProcess, traffic: Traffic) -> None:
    """Every kind of request the metrics must tell apart, ending with a 404 of each kind."""
    samples = [p for p in sample_images() if p.stem in SAMPLE_STEMS]
    assert len(samples) == len(SAMPLE_STEMS), "scikit-image sample photos missing"
    with httpx.Client(base_url=api.url, timeout=120) as client:
        files = [("images", (p.name, p.read_bytes(), "image/png")) for p in samples]
        files.append(("images", ("bad.jpg", bad_image_files()["corrupt.jpg"], "image/jpeg")))
        batch = client.post("/ingest/batch", files=files)
        assert batch.status_code == 200, batch.text
        traffic.image_ids = [r["image_id"] for r in batch.json()["results"] if r["image_id"]]
        again = client.post("/ingest/image", files={"image": (samples[0].name, samples[0].read_bytes())})
        assert again.json()["status"] == "exists"
        for _ in range(2):  # the second one is a cache hit
            headers = {"X-Request-ID": traffic.request_id}
            assert client.get("/search/text", params={"q": "a cat"}, headers=headers).status_code == 200
        hybrid = client.post("/search/hybrid", json={"text_query": "a cat", "yolo_classes": ["cat"]})
        assert hybrid.status_code == 200, hybrid.text
        assert client.get(f"/images/{traffic.image_ids[0]}/similar").status_code == 200
        query_image = {"image": (samples[1].name, samples[1].read_bytes(), "image/png")}
        assert client.post("/search/similar", files=query_image).status_code == 200
        assert client.post("/search/objects", json={"text_query": "a cup"}).status_code == 200
        assert client.get("/images/" + "0" * 64).status_code == 404
        assert client.get("/no/such/page/123").status_code == 404
    traffic.finished_at = time.time()


@pytest.fixture(scope="package")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, live_api: ServeProcess
) -> Iterator[PrometheusProcess]:
    """A Prometheus scraping the live API every second, started before the traffic (so rates see it)."""
    if not PROMETHEUS.exists():
        pytest.skip("needs Debian's prometheus package (/usr/bin/prometheus)")
    config = prometheus_config(f"127.0.0.1:{live_api.port}")
    server = PrometheusProcess(tmp_path_factory.mktemp("prometheus"), config)
    try:
        wait_for(lambda: server.value(f'up{{job="{API_JOB}"}}') == 1, 60, "a first scrape of the API")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def traffic(request: pytest.FixtureRequest, live_api: ServeProcess) -> Traffic:
    """The traffic, sent once; with Prometheus, also scraped (its last request is the unmatched 404)."""
    scraper = request.getfixturevalue("prometheus") if PROMETHEUS.exists() else None
    done = Traffic()
    drive_traffic(live_api, done)
    if scraper is not None:
        expr = 'visual_search_requests_total{endpoint="unmatched"}'
        wait_for(lambda: scraper.value(expr) >= 1, 60, "a scrape after the traffic")
    return done
