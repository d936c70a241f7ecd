"""Arrow schemas of the LanceDB store and the conversion between records and rows."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from pixseek.index.class_keys import ClassKeys
from pixseek.index.protocol import ImageRecord, ObjectRecord, Vector, as_utc
from pixseek.models.types import Box, Detection

IMAGES_TABLE = "images"
OBJECTS_TABLE = "objects"
VECTOR_COLUMN = "vector"
# Instants are stored in UTC; naive datetimes (EXIF has no zone) are taken as UTC, as OpenSearch does.
TIMESTAMP = pa.timestamp("us", tz="UTC")


def class_column(class_name: str) -> str:
    """SQL-safe name of the column with an image's best confidence for a class: conf_traffic_light."""
    return "conf_" + re.sub(r"[^a-z0-9]+", "_", class_name.lower()).strip("_")


class ClassColumns(ClassKeys):
    """The per-class confidence columns of a pack's class list."""

    def __init__(self, class_names: Sequence[str]) -> None:
        super().__init__(class_names, class_column)

    def column(self, class_name: str) -> str:
        return self.key(class_name)


def images_schema(classes: ClassColumns, dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("path", pa.string(), nullable=False),
            pa.field("filename", pa.string(), nullable=False),
            pa.field("width", pa.int32(), nullable=False),
            pa.field("height", pa.int32(), nullable=False),
            pa.field("captured_at", TIMESTAMP),
            pa.field("ingested_at", TIMESTAMP, nullable=False),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("detections", pa.string(), nullable=False),  # JSON: exact floats, read back whole
            *(pa.field(col, pa.float32(), nullable=False) for col in classes.by_class.values()),
            pa.field(VECTOR_COLUMN, pa.list_(pa.float32(), dim), nullable=False),
        ]
    )


def objects_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("image_id", pa.string(), nullable=False),
            pa.field("idx", pa.int32(), nullable=False),
            pa.field("class_id", pa.int32(), nullable=False),
            pa.field("class_name", pa.string(), nullable=False),
            pa.field("confidence", pa.float32(), nullable=False),
            *(pa.field(c, pa.float32(), nullable=False) for c in ("x1", "y1", "x2", "y2")),
            # Copied from the image so that object search pre-filters without a join.
            pa.field("captured_at", TIMESTAMP),
            pa.field("tags", pa.list_(pa.string())),
            pa.field(VECTOR_COLUMN, pa.list_(pa.float32(), dim), nullable=False),
        ]
    )


# Columns read back into an ImageRecord, vector aside.
RECORD_COLUMNS = (
    "id", "path", "filename", "width", "height", "captured_at", "ingested_at", "tags", "detections",
)  # fmt: skip


def _checked_vector(vector: Vector | None, dim: int, owner: str) -> Vector:
    if vector is None or vector.shape != (dim,):
        shape = None if vector is None else vector.shape
        raise ValueError(f"{owner}: expected a vector of shape ({dim},), got {shape}")
    return np.asarray(vector, dtype=np.float32)


def _detections_json(detections: Sequence[Detection]) -> str:
    return json.dumps(
        [[d.class_id, d.class_name, d.confidence, d.box.x1, d.box.y1, d.box.x2, d.box.y2] for d in detections]
    )


def _detections_from_json(text: str) -> tuple[Detection, ...]:
    return tuple(
        Detection(int(cid), str(name), float(conf), Box(x1, y1, x2, y2))
        for cid, name, conf, x1, y1, x2, y2 in json.loads(text)
    )


def image_row(record: ImageRecord, classes: ClassColumns, dim: int) -> dict[str, Any]:
    best = dict.fromkeys(classes.by_class.values(), 0.0)
    for det in record.detections:
        col = classes.column(det.class_name)
        best[col] = max(best[col], det.confidence)
    return {
        "id": record.id,
        "path": record.path,
        "filename": record.filename,
        "width": record.width,
        "height": record.height,
        "captured_at": None if record.captured_at is None else as_utc(record.captured_at),
        "ingested_at": as_utc(record.ingested_at),
        "tags": list(record.tags),
        "detections": _detections_json(record.detections),
        **best,
        VECTOR_COLUMN: _checked_vector(record.vector, dim, f"image {record.id}"),
    }


def object_rows(record: ImageRecord, objects: Sequence[ObjectRecord], dim: int) -> list[dict[str, Any]]:
    captured_at = None if record.captured_at is None else as_utc(record.captured_at)
    return [
        {
            "image_id": record.id,
            "idx": obj.index,
            "class_id": obj.detection.class_id,
            "class_name": obj.detection.class_name,
            "confidence": obj.detection.confidence,
            "x1": obj.detection.box.x1,
            "y1": obj.detection.box.y1,
            "x2": obj.detection.box.x2,
            "y2": obj.detection.box.y2,
            "captured_at": captured_at,
            "tags": list(record.tags),
            VECTOR_COLUMN: _checked_vector(obj.vector, dim, f"object {obj.index} of image {record.id}"),
        }
        for obj in objects
    ]


def vector_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A fixed-size-list vector column as a float32 (rows, dim) array."""
    return column.combine_chunks().flatten().to_numpy().reshape(-1, column.type.list_size)


def records_from_arrow(table: pa.Table) -> list[ImageRecord]:
    """ImageRecords from rows holding RECORD_COLUMNS (and the vector, when selected)."""
    vectors = vector_matrix(table.column(VECTOR_COLUMN)) if VECTOR_COLUMN in table.column_names else None
    return [
        ImageRecord(
            id=row["id"],
            path=row["path"],
            filename=row["filename"],
            width=row["width"],
            height=row["height"],
            captured_at=row["captured_at"],
            ingested_at=row["ingested_at"],
            tags=tuple(row["tags"] or ()),
            detections=_detections_from_json(row["detections"]),
            vector=None if vectors is None else vectors[i].astype(np.float32),
        )
        for i, row in enumerate(table.select(list(RECORD_COLUMNS)).to_pylist())
    ]
