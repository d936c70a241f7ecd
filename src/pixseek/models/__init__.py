"""Model Protocols and the packs that implement them (starter, ONNX, Triton)."""

from pixseek.models.protocols import (
    Detector,
    ImageAnalyzer,
    ImageEmbedder,
    ModelPack,
    PackInfo,
    TextEmbedder,
)
from pixseek.models.types import Analysis, Box, Detection, RGBImage

__all__ = [
    "Analysis",
    "Box",
    "Detection",
    "Detector",
    "ImageAnalyzer",
    "ImageEmbedder",
    "ModelPack",
    "PackInfo",
    "RGBImage",
    "TextEmbedder",
]
