"""Shared by the ingest benchmarks: generated images, a pack whose detector always finds objects,
and the load average (the machine is shared, so every result records how busy it was)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pixseek.models.compose import ComposedAnalyzer
from pixseek.models.protocols import Detector, ImageAnalyzer, ImageEmbedder, ModelPack, PackInfo, TextEmbedder
from pixseek.models.types import Box, Detection, RGBImage
from pixseek.samples import sample_images


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def make_images(folder: Path, count: int, seed: int = 0, longest: int = 800) -> list[Path]:
    """Random crops of the package-shipped samples, as JPEGs, each with its own content hash."""
    rng = np.random.default_rng(seed)
    sources = [Image.open(p).convert("RGB") for p in sample_images()]
    paths = []
    for n in range(count):
        source = sources[n % len(sources)]
        w, h = source.size
        scale = rng.uniform(0.7, 1.0)
        cw, ch = int(w * scale), int(h * scale)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = source.crop((x, y, x + cw, y + ch))
        crop.thumbnail((longest, longest))
        path = folder / f"img{n:05d}.jpg"
        crop.save(path, quality=90)
        paths.append(path)
    return paths


class PaddedDetector:
    """The pack's detector, plus fixed boxes up to `min_objects` per image.

    Random-weight detectors find nothing; padding keeps the object-embedding work of a real pack
    (each extra box is cropped and embedded like a real detection)."""

    def __init__(self, inner: Detector, min_objects: int) -> None:
        self.inner = inner
        self.min_objects = min_objects

    def detect(self, images: Sequence[RGBImage]) -> list[list[Detection]]:
        found = self.inner.detect(images)
        return [
            d + self._extra(image, self.min_objects - len(d)) for image, d in zip(images, found, strict=True)
        ]

    @staticmethod
    def _extra(image: RGBImage, count: int) -> list[Detection]:
        h, w = image.shape[:2]
        boxes = [
            Box(w * (0.1 + 0.2 * (i % 4)), h * 0.2, w * (0.4 + 0.2 * (i % 4)), h * 0.8) for i in range(count)
        ]
        return [Detection(0, "person", 0.99, box) for box in boxes]


@dataclass
class BenchPack:
    info: PackInfo
    detector: Detector
    image_embedder: ImageEmbedder
    text_embedder: TextEmbedder
    analyzer: ImageAnalyzer

    def warmup(self) -> None:
        self.analyzer.analyze([np.full((64, 96, 3), 127, dtype=np.uint8)])


def padded_pack(pack: ModelPack, min_objects: int) -> ModelPack:
    detector = PaddedDetector(pack.detector, min_objects)
    analyzer = ComposedAnalyzer(detector, pack.image_embedder)
    return BenchPack(pack.info, detector, pack.image_embedder, pack.text_embedder, analyzer)
