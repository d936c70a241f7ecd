"""In-process: route-template labels, and the timing layer that instrument_engine puts around an engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from tests.helpers import bad_image_files

from pixseek.api.metrics import UNMATCHED
from pixseek.api.observability_instrument import (
    STORE_KINDS,
    InstrumentedPack,
    InstrumentedStore,
    instrument_engine,
)
from pixseek.api.observability_middleware import RequestMetricsMiddleware
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.index.factory import open_store
from pixseek.ingest.pipeline import IngestItem
from pixseek.models.starter.pack import StarterPack
from pixseek.samples import sample_images


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests(endpoint: str, status: str) -> float:
    return sample("visual_search_requests_total", endpoint=endpoint, status=status)


@pytest.fixture(scope="module")
def labelled_client() -> Iterator[TestClient]:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise HTTPException(404)
        if thing_id == "broken":
            raise RuntimeError("boom")
        return {"id": thing_id}

    sub = FastAPI()

    @sub.get("/parts/{part}")
    def part(part: str) -> dict[str, str]:
        return {"part": part}

    app.mount("/sub", sub)
    app.add_middleware(RequestMetricsMiddleware)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "status"),
    [
        ("GET", "/things/abc", "/things/{thing_id}", "200"),
        ("GET", "/things/missing", "/things/{thing_id}", "404"),
        ("GET", "/things/broken", "/things/{thing_id}", "500"),
        ("POST", "/things/abc", "/things/{thing_id}", "405"),
        ("GET", "/sub/parts/wheel", "/sub/parts/{part}", "200"),
        ("GET", "/nowhere/42", UNMATCHED, "404"),
    ],
)
def test_requests_are_labelled_by_route_template(
    labelled_client: TestClient, method: str, path: str, endpoint: str, status: str
) -> None:
    before = requests(endpoint, status)
    assert labelled_client.request(method, path).status_code == int(status)
    assert requests(endpoint, status) == before + 1
    assert sample("visual_search_request_duration_seconds_count", endpoint=endpoint) >= 1


@pytest.fixture
def engine(tmp_path: Path, starter_pack: StarterPack) -> Iterator[Engine]:
    settings = Settings(db=tmp_path / "db")
    settings.db.mkdir(parents=True)
    opened = Engine(settings, starter_pack, open_store(settings, starter_pack.info))
    yield opened
    opened.close()


def test_instrument_engine_wraps_every_reference_once(engine: Engine) -> None:
    raw_pack, raw_store = engine.pack, engine.store
    assert instrument_engine(instrument_engine(engine)) is engine
    assert isinstance(engine.pack, InstrumentedPack) and engine.pack.inner is raw_pack
    assert isinstance(engine.store, InstrumentedStore) and engine.store.inner is raw_store
    for holder in (engine, engine.ingestor, engine.search):
        assert raw_pack not in vars(holder).values() and raw_store not in vars(holder).values()
    assert len(engine.ingestor.observers) == 1


def test_instrumented_engine_counts_embeddings_timings_and_ingest_outcomes(engine: Engine) -> None:
    instrument_engine(engine)
    cat = next(p for p in sample_images() if p.stem == "chelsea")
    names = ("indexed", "exists", "rejected")
    ingested = {status: sample("ingest_images_total", status=status) for status in names}
    embedded = {kind: sample("embeddings_generated_total", type=kind) for kind in ("image", "object", "text")}
    analyzer = sample("inference_duration_seconds_count", model="analyzer", backend="local")
    upserts = sample("store_query_duration_seconds_count", backend="lancedb", kind="upsert")

    items = [IngestItem(cat.read_bytes(), cat.name), IngestItem(bad_image_files()["empty.jpg"], "empty.jpg")]
    results = engine.ingestor.ingest(items)
    engine.ingestor.ingest(items[:1])
    engine.search.text("a cat")

    assert {status: sample("ingest_images_total", status=status) - ingested[status] for status in names} == {
        "indexed": 1,
        "exists": 1,
        "rejected": 1,
    }
    assert sample("embeddings_generated_total", type="image") - embedded["image"] == 1
    assert (
        sample("embeddings_generated_total", type="object") - embedded["object"] == results[0].num_detections
    )
    assert sample("embeddings_generated_total", type="text") - embedded["text"] == 1
    assert sample("inference_duration_seconds_count", model="analyzer", backend="local") == analyzer + 1
    assert sample("store_query_duration_seconds_count", backend="lancedb", kind="upsert") == upserts + 1
    assert sample("store_query_duration_seconds_count", backend="lancedb", kind="search_images") >= 1


def test_every_store_operation_has_its_series_from_the_start(engine: Engine) -> None:
    timed = {name for name in vars(InstrumentedStore) if not name.startswith("_")} - {"close"}
    assert timed == set(STORE_KINDS)
    InstrumentedStore(engine.store, "fresh-backend")
    for kind in STORE_KINDS:
        labels = {"backend": "fresh-backend", "kind": kind}
        assert REGISTRY.get_sample_value("store_query_duration_seconds_count", labels) == 0.0, kind
