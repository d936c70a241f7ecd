"""The OpenSearch index layout: settings, mapping, and ImageRecord <-> document conversion.

One document per image, its objects nested inside it: a document write is atomic (Lucene indexes a
parent with its nested children as one block), so an image is never stored with only some objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from pixseek.index.class_keys import ClassKeys
from pixseek.index.protocol import ImageRecord, ModelMismatchError, ObjectRecord, Vector, as_utc
from pixseek.models.protocols import PackInfo
from pixseek.models.types import Box, Detection

SCHEMA_VERSION = 1
META_KEY = "pixseek"
# Vectors are large and only `get` needs them; searches leave them out of the returned source.
VECTOR_FIELDS = ("vector", "objects.vector")


@dataclass(frozen=True)
class HnswParams:
    m: int = 16
    ef_construction: int = 512
    engine: str = "lucene"  # pure Java, and it filters inside the graph search (efficient filtering)


class ClassFields(ClassKeys):
    """`class_conf.<key>` float fields, one per pack class: the image's best confidence for it."""

    def __init__(self, class_names: Sequence[str]) -> None:
        super().__init__(class_names, class_key)

    def field(self, class_name: str) -> str:
        return f"class_conf.{self.key(class_name)}"


def class_key(class_name: str) -> str:
    # Dots would make sub-objects and spaces are awkward in field paths: keep [a-z0-9_].
    return re.sub(r"[^a-z0-9_]+", "_", class_name.strip().lower())


def _knn_field(dim: int, hnsw: HnswParams) -> dict[str, Any]:
    return {
        "type": "knn_vector",
        "dimension": dim,
        "method": {
            "name": "hnsw",
            "engine": hnsw.engine,
            "space_type": "cosinesimil",
            "parameters": {"m": hnsw.m, "ef_construction": hnsw.ef_construction},
        },
    }


def pack_meta(pack: PackInfo) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "model_id": pack.model_id,
        "dim": pack.dim,
        "detector_id": pack.detector_id,
        "embedder_id": pack.embedder_id,
    }


def index_body(pack: PackInfo, hnsw: HnswParams, classes: ClassFields) -> dict[str, Any]:
    stored_only = {"type": "keyword", "index": False, "doc_values": False}
    return {
        "settings": {
            "index": {
                "knn": True,
                "number_of_shards": 1,
                # One replica once a second node exists; green on a single test node.
                "auto_expand_replicas": "0-1",
            }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {META_KEY: pack_meta(pack)},
            "properties": {
                "id": {"type": "keyword"},
                "path": stored_only,
                "filename": {"type": "keyword"},
                "width": {"type": "integer", "index": False},
                "height": {"type": "integer", "index": False},
                "captured_at": {"type": "date"},
                "ingested_at": {"type": "date"},
                "tags": {"type": "keyword"},
                # Kept verbatim for the record; filters use class_conf and the nested objects.
                "detections": {"type": "object", "enabled": False},
                "class_conf": {
                    "dynamic": False,  # a detection outside the pack's classes is stored, not indexed
                    "properties": {key: {"type": "float"} for key in classes.by_class.values()},
                },
                "vector": _knn_field(pack.dim, hnsw),
                "objects": {
                    "type": "nested",
                    "properties": {
                        "index": {"type": "integer"},
                        "class_id": {"type": "integer"},
                        "class_name": {"type": "keyword"},
                        "confidence": {"type": "float"},
                        "box": {"type": "float", "index": False, "doc_values": False},
                        "vector": _knn_field(pack.dim, hnsw),
                        # Copies of image fields: a k-NN filter on a nested field runs on the object
                        # documents, and one mixing image and object clauses matches nothing.
                        "captured_at": {"type": "date"},
                        "tags": {"type": "keyword"},
                    },
                },
            },
        },
    }


def check_meta(meta: Mapping[str, Any] | None, pack: PackInfo, index: str) -> None:
    stored = (meta or {}).get(META_KEY)
    if not isinstance(stored, Mapping):
        raise ValueError(f"index {index!r} was not created by pixseek (no _meta.{META_KEY} in its mapping)")
    stored_id, stored_dim = str(stored.get("model_id")), int(stored.get("dim", -1))
    if (stored_id, stored_dim) != (pack.model_id, pack.dim):
        raise ModelMismatchError(stored_id, stored_dim, pack.model_id, pack.dim)


def date_text(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def _vector_list(vector: Vector | None, dim: int, owner: str) -> list[float]:
    if vector is None or vector.shape != (dim,):
        shape = None if vector is None else vector.shape
        raise ValueError(f"{owner}: expected a vector of shape ({dim},), got {shape}")
    # float32 -> Python float is exact, so the JSON round trip gives back the same float32 values.
    return np.asarray(vector, dtype=np.float32).tolist()


def _detection_doc(d: Detection) -> dict[str, Any]:
    return {
        "class_id": d.class_id,
        "class_name": d.class_name,
        "confidence": d.confidence,
        "box": [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
    }


def detection_from_doc(doc: Mapping[str, Any]) -> Detection:
    box = Box(*(float(v) for v in doc["box"]))
    return Detection(int(doc["class_id"]), str(doc["class_name"]), float(doc["confidence"]), box)


def image_document(
    record: ImageRecord, objects: Sequence[ObjectRecord], classes: ClassFields, dim: int
) -> dict[str, Any]:
    captured = None if record.captured_at is None else date_text(record.captured_at)
    best: dict[str, float] = {}
    for d in record.detections:
        key = classes.by_class.get(d.class_name, class_key(d.class_name))
        best[key] = max(best.get(key, 0.0), d.confidence)
    return {
        "id": record.id,
        "path": record.path,
        "filename": record.filename,
        "width": record.width,
        "height": record.height,
        "captured_at": captured,
        "ingested_at": date_text(record.ingested_at),
        "tags": list(record.tags),
        "detections": [_detection_doc(d) for d in record.detections],
        "class_conf": best,
        "vector": _vector_list(record.vector, dim, f"image {record.id}"),
        "objects": [
            {
                "index": o.index,
                **_detection_doc(o.detection),
                "vector": _vector_list(o.vector, dim, f"object {o.index} of image {record.id}"),
                "captured_at": captured,
                "tags": list(record.tags),
            }
            for o in objects
        ],
    }


def record_from_source(source: Mapping[str, Any]) -> ImageRecord:
    captured = source.get("captured_at")
    vector = source.get("vector")
    return ImageRecord(
        id=source["id"],
        path=source["path"],
        filename=source["filename"],
        width=int(source["width"]),
        height=int(source["height"]),
        captured_at=None if captured is None else datetime.fromisoformat(captured),
        ingested_at=datetime.fromisoformat(source["ingested_at"]),
        tags=tuple(source.get("tags") or ()),
        detections=tuple(detection_from_doc(d) for d in source.get("detections") or ()),
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
    )
