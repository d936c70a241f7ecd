"""An ImageAnalyzer built from any Detector and ImageEmbedder: vectors for whole images and objects."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixseek.models.preprocess import crop_with_context
from pixseek.models.protocols import Detector, ImageEmbedder
from pixseek.models.types import Analysis, Detection, RGBImage, Vectors


class ComposedAnalyzer:
    """Detect on a batch, crop each kept object with some context, embed images and crops together."""

    def __init__(
        self,
        detector: Detector,
        image_embedder: ImageEmbedder,
        *,
        context_pad: float = 0.1,
        max_objects: int = 50,
        min_confidence: float = 0.3,
        embed_batch_size: int = 64,
    ) -> None:
        self.detector = detector
        self.image_embedder = image_embedder
        # A little surrounding context helps embedders recognise tightly boxed objects.
        self.context_pad = context_pad
        self.max_objects = max_objects
        self.min_confidence = min_confidence
        self.embed_batch_size = embed_batch_size

    def analyze(self, images: Sequence[RGBImage]) -> list[Analysis]:
        if not images:
            return []
        kept = [self._keep(found) for found in self.detector.detect(images)]
        crops = [
            crop_with_context(image, detection.box, self.context_pad)
            for image, detections in zip(images, kept, strict=True)
            for detection in detections
        ]
        vectors = self._embed([*images, *crops])
        image_vectors, object_vectors = vectors[: len(images)], vectors[len(images) :]
        analyses = []
        start = 0
        for detections, image_vector in zip(kept, image_vectors, strict=True):
            end = start + len(detections)
            analyses.append(Analysis(detections, image_vector, object_vectors[start:end]))
            start = end
        return analyses

    def _keep(self, detections: list[Detection]) -> list[Detection]:
        confident = [d for d in detections if d.confidence >= self.min_confidence]
        confident.sort(key=lambda d: d.confidence, reverse=True)
        return confident[: self.max_objects]

    def _embed(self, images: list[RGBImage]) -> Vectors:
        chunks = [
            self.image_embedder.embed_images(images[start : start + self.embed_batch_size])
            for start in range(0, len(images), self.embed_batch_size)
        ]
        return np.concatenate(chunks).astype(np.float32, copy=False)
