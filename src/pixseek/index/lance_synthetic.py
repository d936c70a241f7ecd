"""Synthetic image rows in the LanceDB store's schema, for recall tests and benchmarks.

Built as Arrow columns, so that a million rows take seconds rather than a million upserts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from pixseek.index.lance_schema import TIMESTAMP, VECTOR_COLUMN, ClassColumns, images_schema
from pixseek.models.types import Vectors, l2_normalize


def clustered_unit_vectors(rng: np.random.Generator, n: int, centers: Vectors, spread: float) -> Vectors:
    """Unit vectors scattered around random members of `centers`, like embeddings of similar photos."""
    chosen = centers[rng.integers(0, len(centers), n)]
    return l2_normalize(chosen + spread * rng.standard_normal(chosen.shape, dtype=np.float32))


def synthetic_images(
    classes: ClassColumns,
    vectors: Vectors,
    class_masks: Mapping[str, np.ndarray],
    first_id: int = 0,
) -> pa.Table:
    """Images with the given vectors; class c is present (confidence 0.9) where class_masks[c] is True."""
    n, dim = vectors.shape
    schema = images_schema(classes, dim)
    numbers = np.arange(first_id, first_id + n)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    columns: dict[str, pa.Array] = {
        "id": pa.array([f"{i:064x}" for i in numbers], pa.string()),
        "path": pa.array([f"/synthetic/{i}.jpg" for i in numbers], pa.string()),
        "filename": pa.array([f"{i}.jpg" for i in numbers], pa.string()),
        "width": pa.array(np.full(n, 640, np.int32)),
        "height": pa.array(np.full(n, 480, np.int32)),
        "captured_at": pa.array([start + timedelta(minutes=int(i)) for i in numbers], TIMESTAMP),
        "ingested_at": pa.array([start] * n, TIMESTAMP),
        "tags": pa.array([[] for _ in range(n)], pa.list_(pa.string())),
        "detections": pa.array(["[]"] * n, pa.string()),
    }
    for name, column in classes.by_class.items():
        present = class_masks.get(name, np.zeros(n, dtype=bool))
        columns[column] = pa.array(np.where(present, 0.9, 0.0).astype(np.float32))
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel())
    columns[VECTOR_COLUMN] = pa.FixedSizeListArray.from_arrays(flat, dim)
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
