"""The small interfaces every model backend implements (in-process or remote)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from pixseek.models.types import Analysis, Detection, RGBImage, Vectors


@dataclass(frozen=True)
class PackInfo:
    """Identity of a model pack; the store records `model_id` and `dim` and refuses another pack."""

    model_id: str
    dim: int
    detector_id: str
    embedder_id: str
    licence: str
    class_names: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Detector(Protocol):
    def detect(self, images: Sequence[RGBImage]) -> list[list[Detection]]:
        """Per image, its detections with boxes in that image's pixels."""
        ...


@runtime_checkable
class ImageEmbedder(Protocol):
    dim: int

    def embed_images(self, images: Sequence[RGBImage]) -> Vectors:
        """L2-normalized float32 [n, dim] for whole images or crops."""
        ...


@runtime_checkable
class TextEmbedder(Protocol):
    dim: int

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        """L2-normalized float32 [n, dim], in the same space as the image embedder."""
        ...


@runtime_checkable
class ImageAnalyzer(Protocol):
    def analyze(self, images: Sequence[RGBImage]) -> list[Analysis]:
        """Detect, then embed each image and each detected object (one call for a whole batch)."""
        ...


@runtime_checkable
class ModelPack(Protocol):
    # Read-only members, so a pack holding concrete classes (an SSD detector, say) matches.
    @property
    def info(self) -> PackInfo: ...
    @property
    def detector(self) -> Detector: ...
    @property
    def image_embedder(self) -> ImageEmbedder: ...
    @property
    def text_embedder(self) -> TextEmbedder: ...
    @property
    def analyzer(self) -> ImageAnalyzer: ...

    def warmup(self) -> None:
        """Run every model once so the first real request is not the slow one."""
        ...
