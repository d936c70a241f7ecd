"""YOLO detector output -> detections in original-image pixels, for either declared output format.

`cxcywh_class_scores` ([4 + classes, anchors] per image, no NMS in the graph) gets a confidence
filter, the best class per anchor and class-wise NMS; `xyxy_score_class` ([max_det, 6] per image,
end-to-end heads) only a confidence filter. Both come out as corners x1, y1, x2, y2 mapped back
through the letterbox geometry, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pixseek.models.pack_manifest import DetectorManifest, DetectorOutputFormat
from pixseek.models.preprocess import ResizeGeometry, boxes_to_original
from pixseek.models.types import Box, Detection

# Most candidates NMS looks at per image (the best-scoring ones), as ultralytics caps it too.
MAX_NMS_CANDIDATES = 30_000


@dataclass(frozen=True)
class Candidates:
    """Boxes as corners in the detector's input pixels, with score and class id per row."""

    boxes: npt.NDArray[np.float32]  # (n, 4)
    scores: npt.NDArray[np.float32]  # (n,)
    class_ids: npt.NDArray[np.int64]  # (n,)

    def take(self, rows: npt.NDArray[np.intp]) -> Candidates:
        return Candidates(self.boxes[rows], self.scores[rows], self.class_ids[rows])


def candidates_from_cxcywh(prediction: npt.NDArray[np.float32], min_confidence: float) -> Candidates:
    """[4 + classes, anchors]: centre x, centre y, width, height, then a score per class."""
    class_scores = prediction[4:]
    class_ids = class_scores.argmax(axis=0)
    scores = class_scores[class_ids, np.arange(class_scores.shape[1])]
    rows = np.flatnonzero(scores >= min_confidence)
    if rows.size > MAX_NMS_CANDIDATES:
        rows = rows[np.argsort(-scores[rows], kind="stable")[:MAX_NMS_CANDIDATES]]
    cx, cy, w, h = prediction[:4, rows]
    corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    return Candidates(corners.astype(np.float32), scores[rows].astype(np.float32), class_ids[rows])


def candidates_from_xyxy(prediction: npt.NDArray[np.float32], min_confidence: float) -> Candidates:
    """[max_det, 6]: x1, y1, x2, y2, score, class id (rows past the last detection score 0)."""
    rows = np.flatnonzero(prediction[:, 4] >= min_confidence)
    picked = prediction[rows]
    return Candidates(
        picked[:, :4].astype(np.float32), picked[:, 4].astype(np.float32), picked[:, 5].astype(np.int64)
    )


def class_wise_nms(candidates: Candidates, iou_threshold: float, max_keep: int) -> npt.NDArray[np.intp]:
    """Greedy NMS within each class; indices of the kept rows, best score first."""
    order = np.argsort(-candidates.scores, kind="stable")
    if order.size == 0 or max_keep <= 0:
        return np.empty(0, dtype=np.intp)
    boxes = candidates.boxes.astype(np.float64)
    # Shifting each class by more than the coordinate span keeps boxes of two classes disjoint,
    # so one pass of plain NMS is NMS within each class.
    span = float(boxes.max() - boxes.min()) + 1.0
    boxes = boxes + (candidates.class_ids.astype(np.float64) * span)[:, None]
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    kept: list[int] = []
    while order.size and len(kept) < max_keep:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        iou = _iou(boxes[best], areas[best], boxes[rest], areas[rest])
        order = rest[iou <= iou_threshold]
    return np.asarray(kept, dtype=np.intp)


def _iou(
    box: npt.NDArray[np.float64],
    area: np.float64,
    others: npt.NDArray[np.float64],
    other_areas: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    width = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    intersection = width * height
    return intersection / np.maximum(area + other_areas - intersection, 1e-9)


def select(
    prediction: npt.NDArray[np.float32],
    output_format: DetectorOutputFormat,
    *,
    min_confidence: float,
    iou_threshold: float,
    max_detections: int,
) -> Candidates:
    """The kept detections of one image, best first, still in the detector's input pixels."""
    if output_format == "cxcywh_class_scores":
        candidates = candidates_from_cxcywh(prediction, min_confidence)
        return candidates.take(class_wise_nms(candidates, iou_threshold, max_detections))
    candidates = candidates_from_xyxy(prediction, min_confidence)
    order = np.argsort(-candidates.scores, kind="stable")[:max_detections]
    return candidates.take(order)


def to_detections(
    candidates: Candidates, geometry: ResizeGeometry, class_names: Sequence[str]
) -> list[Detection]:
    boxes = boxes_to_original(candidates.boxes, geometry)
    return [
        Detection(int(class_id), class_names[int(class_id)], float(score), Box(*map(float, box)))
        for box, score, class_id in zip(boxes, candidates.scores, candidates.class_ids, strict=True)
    ]


def decode_batch(
    output: npt.NDArray[np.float32],
    geometries: Sequence[ResizeGeometry],
    manifest: DetectorManifest,
    *,
    min_confidence: float,
    max_detections: int,
) -> list[list[Detection]]:
    """Detector output for a batch -> per image, detections in that image's pixels."""
    return [
        to_detections(
            select(
                prediction,
                manifest.output_format,
                min_confidence=min_confidence,
                iou_threshold=manifest.iou_threshold,
                max_detections=max_detections,
            ),
            geometry,
            manifest.class_names,
        )
        for prediction, geometry in zip(output, geometries, strict=True)
    ]
