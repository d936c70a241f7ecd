"""YOLO output decoding on hand-made tensors: corners, letterbox undo, class-wise NMS, both formats."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.models.coco import COCO_CLASSES
from pixseek.models.pack_manifest import DetectorInputSpec, DetectorManifest, OnnxGraph
from pixseek.models.preprocess import letterbox
from pixseek.models.yolo_postprocess import Candidates, class_wise_nms, decode_batch, select


def manifest(output_format: str) -> DetectorManifest:
    return DetectorManifest(
        model_id="hand-made",
        source="test",
        weights="none",
        input=DetectorInputSpec(width=640, height=640),
        graph=OnnxGraph(file="x.onnx", input="images", output="output0"),
        output_format=output_format,  # type: ignore[arg-type]
        class_names=COCO_CLASSES,
        licence="test",
    )


def raw_output(rows: list[tuple[float, float, float, float, int, float]], anchors: int = 50) -> np.ndarray:
    """[1, 84, anchors] with one anchor per row (cx, cy, w, h, class, score), the rest all zero."""
    output = np.zeros((1, 4 + len(COCO_CLASSES), anchors), dtype=np.float32)
    for anchor, (cx, cy, w, h, class_id, score) in enumerate(rows):
        output[0, :4, anchor] = cx, cy, w, h
        output[0, 4 + class_id, anchor] = score
    return output


def test_centre_size_boxes_come_back_as_corners_in_original_pixels() -> None:
    # A 1280x640 image letterboxes to 640x320 at scale 0.5, padded 160 px top and bottom.
    _, geometry = letterbox(np.zeros((640, 1280, 3), dtype=np.uint8), (640, 640))
    assert (geometry.scale_x, geometry.pad_x, geometry.pad_y) == (0.5, 0.0, 160.0)
    # Canvas box centred at (100, 260) of 40x20 -> canvas corners (80, 250, 120, 270).
    output = raw_output([(100, 260, 40, 20, 15, 0.9)])

    (detections,) = decode_batch(output, [geometry], manifest("cxcywh_class_scores"),
                                 min_confidence=0.5, max_detections=10)  # fmt: skip

    (cat,) = detections
    assert cat.class_name == "cat" and cat.confidence == pytest.approx(0.9)
    box = cat.box
    assert (box.x1, box.y1, box.x2, box.y2) == pytest.approx((160, 180, 240, 220))


def test_nms_suppresses_overlaps_within_a_class_only() -> None:
    output = raw_output([
        (100, 100, 50, 50, 0, 0.9),   # person, kept
        (102, 101, 50, 50, 0, 0.8),   # person overlapping the first: suppressed
        (101, 100, 50, 50, 16, 0.7),  # dog at the same place: another class, kept
        (400, 400, 50, 50, 0, 0.6),   # person elsewhere: kept
        (300, 300, 50, 50, 2, 0.2),   # car under the confidence floor: dropped
    ])  # fmt: skip
    _, geometry = letterbox(np.zeros((640, 640, 3), dtype=np.uint8), (640, 640))

    (detections,) = decode_batch(output, [geometry], manifest("cxcywh_class_scores"),
                                 min_confidence=0.25, max_detections=10)  # fmt: skip

    assert [(d.class_name, round(d.confidence, 2)) for d in detections] == [
        ("person", 0.9), ("dog", 0.7), ("person", 0.6)
    ]  # fmt: skip


def test_max_detections_keeps_the_best() -> None:
    output = raw_output([(50 + 60 * i, 50, 40, 40, 0, 0.3 + 0.05 * i) for i in range(8)])
    picked = select(output[0], "cxcywh_class_scores", min_confidence=0.0, iou_threshold=0.45,
                    max_detections=3)  # fmt: skip
    assert picked.scores.tolist() == pytest.approx([0.65, 0.6, 0.55])


def test_end_to_end_rows_are_read_as_corners_without_nms() -> None:
    # [1, max_det, 6]: x1, y1, x2, y2, score, class; two overlapping same-class rows both stay.
    output = np.zeros((1, 300, 6), dtype=np.float32)
    output[0, 0] = (10, 20, 110, 220, 0.8, 2)
    output[0, 1] = (12, 22, 112, 222, 0.7, 2)
    output[0, 2] = (300, 300, 350, 350, 0.1, 5)
    _, geometry = letterbox(np.zeros((320, 320, 3), dtype=np.uint8), (640, 640))  # scale 2

    (detections,) = decode_batch(output, [geometry], manifest("xyxy_score_class"),
                                 min_confidence=0.25, max_detections=10)  # fmt: skip

    assert [d.class_name for d in detections] == ["car", "car"]
    first = detections[0].box
    assert (first.x1, first.y1, first.x2, first.y2) == pytest.approx((5, 10, 55, 110))


def test_nms_on_nothing_keeps_nothing() -> None:
    empty = Candidates(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    assert class_wise_nms(empty, 0.45, 10).size == 0
