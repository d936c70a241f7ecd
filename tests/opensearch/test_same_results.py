"""The same records in LanceDB and OpenSearch give the same top-10 for the same text queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from pixseek.config import Settings
from pixseek.index.factory import open_store
from pixseek.index.lance_synthetic import clustered_unit_vectors
from pixseek.index.protocol import ImageFilter, ImageRecord, ObjectRecord, Store
from pixseek.index.reindex import ImageWithObjects, rebuilt
from pixseek.ingest.decode import decode_image
from pixseek.ingest.pipeline import content_id
from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import l2_normalize
from pixseek.samples import sample_images
from tests.opensearch.conftest import NEEDS_NODE, backend_settings

pytestmark = NEEDS_NODE

SYNTHETIC = 300
QUERIES = (
    "a cat", "a cup of coffee", "a rocket launch", "a motorcycle", "a bus in the street",
    "an astronaut", "a person playing football", "a horse", "colourful shapes", "a building",
)  # fmt: skip
INGESTED = datetime(2025, 1, 1, tzinfo=UTC)


def sample_records(pack: StarterPack) -> list[ImageWithObjects]:
    """The package-shipped samples, analyzed once by the starter pack."""
    items = []
    for path in sample_images():
        data = path.read_bytes()
        decoded = decode_image(data, 64_000_000)
        bare = ImageRecord(content_id(data), str(path), path.name, decoded.width, decoded.height,
                           decoded.captured_at, INGESTED, ("sample",), ())  # fmt: skip
        items.append(rebuilt(bare, decoded, pack.analyzer.analyze([decoded.rgb])[0]))
    return items


def synthetic_records(samples: list[ImageWithObjects]) -> list[ImageWithObjects]:
    """Images whose vectors lie near the samples', so they compete for every query's top 10."""
    rng = np.random.default_rng(11)
    centers = l2_normalize(np.stack([record.vector for record, _ in samples if record.vector is not None]))
    vectors = clustered_unit_vectors(rng, SYNTHETIC, centers, 0.05)
    items: list[ImageWithObjects] = []
    for n, vector in enumerate(vectors):
        record, objects = samples[n % len(samples)]
        fake = ImageRecord(f"{n:064x}", f"/synthetic/{n}.jpg", f"{n}.jpg", 640, 480, None, INGESTED,
                           ("synthetic",), record.detections, vector)  # fmt: skip
        near = [clustered_unit_vectors(rng, 1, o.vector[None], 0.05)[0] for o in objects]
        items.append(
            (fake, [ObjectRecord(o.index, o.detection, v) for o, v in zip(objects, near, strict=True)])
        )
    return items


@pytest.fixture(scope="module")
def library(starter_pack: StarterPack) -> list[ImageWithObjects]:
    samples = sample_records(starter_pack)
    return samples + synthetic_records(samples)


@pytest.fixture
def stores(
    library: list[ImageWithObjects], starter_pack: StarterPack, tmp_path: Path, index_name: str
) -> Iterator[dict[str, Store]]:
    cache = starter_pack.image_embedder.cache_file.parent
    opened = {}
    for backend in ("lancedb", "opensearch"):
        settings: Settings = backend_settings(backend, tmp_path / "db", cache, index_name)
        opened[backend] = open_store(settings, starter_pack.info)
        opened[backend].upsert(library)
    yield opened
    for store in opened.values():
        store.close()


def overlap(stores: dict[str, Store], vector: np.ndarray, flt: ImageFilter = ImageFilter()) -> float:
    lance, opensearch = ({h.record.id for h in s.search_images(vector, 10, flt)} for s in stores.values())
    return len(lance & opensearch) / 10


def test_text_queries_find_the_same_top_10_in_both_backends(
    stores: dict[str, Store], starter_pack: StarterPack
) -> None:
    assert stores["lancedb"].count() == stores["opensearch"].count() == len(sample_images()) + SYNTHETIC
    vectors = starter_pack.text_embedder.embed_texts(list(QUERIES))
    overlaps = {query: overlap(stores, vector) for query, vector in zip(QUERIES, vectors, strict=True)}
    assert all(value >= 0.9 for value in overlaps.values()), overlaps
    person = ImageFilter(classes=("person",), min_confidence=0.5)
    assert overlap(stores, vectors[6], person) >= 0.9
