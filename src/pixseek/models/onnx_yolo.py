"""A YOLO-family COCO detector over an exported pack's ONNX graph."""

from __future__ import annotations

from collections.abc import Sequence

from pixseek.models.graph_runner import GraphRunner
from pixseek.models.model_inputs import detector_input
from pixseek.models.pack_manifest import DetectorManifest
from pixseek.models.types import Detection, RGBImage
from pixseek.models.yolo_postprocess import decode_batch


class OnnxYoloDetector:
    def __init__(
        self,
        graph: GraphRunner,
        manifest: DetectorManifest,
        *,
        min_confidence: float,
        max_detections: int,
    ) -> None:
        self.graph = graph
        self.manifest = manifest
        self.min_confidence = min_confidence
        self.max_detections = max_detections

    def detect(self, images: Sequence[RGBImage]) -> list[list[Detection]]:
        if not images:
            return []
        batch, geometries = detector_input(images, self.manifest.input)
        return decode_batch(
            self.graph.run(batch),
            geometries,
            self.manifest,
            min_confidence=self.min_confidence,
            max_detections=self.max_detections,
        )
