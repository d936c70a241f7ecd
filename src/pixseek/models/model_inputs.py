"""Images -> the input tensors an exported pack's graphs take, as its manifests describe them."""

from __future__ import annotations

from collections.abc import Sequence

from pixseek.models.pack_manifest import DetectorInputSpec, ImageInputSpec
from pixseek.models.preprocess import (
    FloatArray,
    ResizeGeometry,
    letterbox,
    normalize_to_nchw,
    resize,
    resize_center_crop,
)
from pixseek.models.types import RGBImage

_NO_SHIFT = (0.0, 0.0, 0.0)
_NO_SCALE = (1.0, 1.0, 1.0)


def fit_for_embedder(image: RGBImage, spec: ImageInputSpec) -> RGBImage:
    """The square `spec.size` view of an image that the embedder was trained on."""
    if spec.resize_mode == "shortest":
        return resize_center_crop(image, spec.size)
    if spec.resize_mode == "squash":
        return resize(image, (spec.size, spec.size))
    return letterbox(image, (spec.size, spec.size), fill=spec.fill)[0]


def embedder_input(images: Sequence[RGBImage], spec: ImageInputSpec) -> FloatArray:
    """float32 [n, 3, size, size], normalized with the manifest's mean/std."""
    return normalize_to_nchw([fit_for_embedder(image, spec) for image in images], spec.mean, spec.std)


def detector_input(
    images: Sequence[RGBImage], spec: DetectorInputSpec
) -> tuple[FloatArray, list[ResizeGeometry]]:
    """Letterboxed float32 [n, 3, height, width] and where each image landed on its canvas."""
    boxed = [letterbox(image, (spec.width, spec.height), fill=spec.fill) for image in images]
    batch = normalize_to_nchw([canvas for canvas, _ in boxed], _NO_SHIFT, _NO_SCALE, scale=spec.scale)
    return batch, [geometry for _, geometry in boxed]
