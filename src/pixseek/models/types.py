"""Value types shared by every model backend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# An RGB image as decoded by pixseek: uint8, shape (height, width, 3).
RGBImage = npt.NDArray[np.uint8]
# Rows of L2-normalized float32 vectors, shape (n, dim).
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned box as corners, in pixels of the original image."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    def clipped(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.x1, 0.0), float(width)),
            min(max(self.y1, 0.0), float(height)),
            min(max(self.x2, 0.0), float(width)),
            min(max(self.y2, 0.0), float(height)),
        )


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object: COCO class (contiguous id 0..79 and name), confidence and box."""

    class_id: int
    class_name: str
    confidence: float
    box: Box


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything ingest needs from the models for one image."""

    detections: list[Detection]
    image_vector: npt.NDArray[np.float32]  # (dim,)
    object_vectors: npt.NDArray[np.float32]  # (len(detections), dim)


def l2_normalize(vectors: npt.NDArray[np.floating]) -> Vectors:
    """Normalize rows to unit length; all-zero rows stay zero."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)
