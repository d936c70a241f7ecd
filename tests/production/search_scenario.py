"""One ingest + search scenario, run against any ModelPack so backends can be compared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.index.protocol import ImageRecord
from pixseek.ingest.pipeline import IngestItem
from pixseek.models.protocols import ModelPack
from pixseek.search.service import Page
from tests.helpers import copy_samples

SAMPLES = ("chelsea", "coffee", "rocket")
# Random-weight detectors score everything near zero: a zero floor still yields boxes to embed.
MAX_OBJECTS = 3


def scenario_settings(db: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "db": db, "min_detection_confidence": 0.0, "max_objects_per_image": MAX_OBJECTS,
        "onnx_providers": "cpu", **overrides,
    }  # fmt: skip
    return Settings(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ScenarioResult:
    records: dict[str, ImageRecord]  # by file name
    text_ranking: list[str]
    image_ranking: list[str]  # query: the first sample's bytes
    image_top_score: float
    object_hits: list[tuple[str, int]]  # (file name, object index)
    model_id: str


def ingest_and_search(settings: Settings, pack: ModelPack, photos: Path) -> ScenarioResult:
    paths = copy_samples(photos, SAMPLES)
    engine = Engine.open(settings, pack=pack)
    try:
        results = engine.ingestor.ingest([IngestItem(path.read_bytes(), path.name) for path in paths])
        assert [result.status for result in results] == ["indexed"] * len(paths), results
        records = {}
        for result in results:
            assert result.image_id is not None
            record = engine.store.get(result.image_id)
            assert record is not None
            records[record.filename] = record
        page = Page(k=10)
        text_hits = engine.search.text("a cat sitting on a sofa", page)
        image_hits = engine.search.image(paths[0].read_bytes(), page)
        object_hits = engine.search.objects("a cup of coffee", page)
        return ScenarioResult(
            records=records,
            text_ranking=[hit.record.filename for hit in text_hits],
            image_ranking=[hit.record.filename for hit in image_hits],
            image_top_score=image_hits[0].score,
            object_hits=[(hit.record.filename, hit.object_index) for hit in object_hits],
            model_id=engine.store.info().model_id,
        )
    finally:
        engine.close()


def assert_sane(result: ScenarioResult, pack: ModelPack) -> None:
    assert result.model_id == pack.info.model_id
    assert set(result.text_ranking) == set(result.records)
    first = next(iter(result.records))
    assert result.image_ranking[0] == first and result.image_top_score > 0.999
    assert len(result.object_hits) == MAX_OBJECTS * len(result.records)
    for record in result.records.values():
        assert len(record.detections) == MAX_OBJECTS
        assert record.vector is not None
        assert abs(float(np.linalg.norm(record.vector)) - 1.0) < 1e-4
        for detection in record.detections:
            box = detection.box
            assert 0 <= box.x1 <= box.x2 <= record.width and 0 <= box.y1 <= box.y2 <= record.height
