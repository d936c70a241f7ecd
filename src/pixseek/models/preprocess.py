"""Image preprocessing shared by every model backend: resizing, boxes back to pixels, crops, normalization.

Pure numpy/OpenCV. Sizes are (width, height) tuples, as OpenCV takes them; arrays are (height, width, 3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pixseek.models.types import Box, RGBImage

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ResizeGeometry:
    """Where an image landed on a model's input canvas: canvas = original * scale + pad."""

    source_size: tuple[int, int]  # original (width, height)
    canvas_size: tuple[int, int]  # model input (width, height)
    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float


def resize(image: RGBImage, size: tuple[int, int]) -> RGBImage:
    """Resize to (width, height); area averaging when shrinking (no aliasing), bilinear when growing."""
    width, height = size
    if (image.shape[1], image.shape[0]) == (width, height):
        return image
    shrinking = width < image.shape[1] or height < image.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), dtype=np.uint8)


def stretch_geometry(source_size: tuple[int, int], canvas_size: tuple[int, int]) -> ResizeGeometry:
    """Geometry of a plain resize that ignores the aspect ratio (what SSD-style detectors use)."""
    return ResizeGeometry(
        source_size=source_size,
        canvas_size=canvas_size,
        scale_x=canvas_size[0] / source_size[0],
        scale_y=canvas_size[1] / source_size[1],
        pad_x=0.0,
        pad_y=0.0,
    )


def letterbox(
    image: RGBImage, canvas_size: tuple[int, int], fill: int = 114
) -> tuple[RGBImage, ResizeGeometry]:
    """Resize keeping the aspect ratio, centred on a `fill`-coloured canvas of (width, height)."""
    source_h, source_w = image.shape[:2]
    canvas_w, canvas_h = canvas_size
    scale = min(canvas_w / source_w, canvas_h / source_h)
    new_w = min(canvas_w, max(1, round(source_w * scale)))
    new_h = min(canvas_h, max(1, round(source_h * scale)))
    pad_x, pad_y = (canvas_w - new_w) // 2, (canvas_h - new_h) // 2
    canvas = np.full((canvas_h, canvas_w, 3), fill, dtype=np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resize(image, (new_w, new_h))
    geometry = ResizeGeometry(
        source_size=(source_w, source_h),
        canvas_size=(canvas_w, canvas_h),
        scale_x=new_w / source_w,
        scale_y=new_h / source_h,
        pad_x=float(pad_x),
        pad_y=float(pad_y),
    )
    return canvas, geometry


def boxes_to_original(
    boxes: npt.ArrayLike, geometry: ResizeGeometry, *, normalized: bool = False
) -> FloatArray:
    """Map (n, 4) x1, y1, x2, y2 boxes on the canvas (pixels, or 0..1 if `normalized`) to original
    pixels, clipped to the original image."""
    out = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    if normalized:
        out[:, 0::2] *= geometry.canvas_size[0]
        out[:, 1::2] *= geometry.canvas_size[1]
    out[:, 0::2] = (out[:, 0::2] - geometry.pad_x) / geometry.scale_x
    out[:, 1::2] = (out[:, 1::2] - geometry.pad_y) / geometry.scale_y
    np.clip(out[:, 0::2], 0.0, geometry.source_size[0], out=out[:, 0::2])
    np.clip(out[:, 1::2], 0.0, geometry.source_size[1], out=out[:, 1::2])
    return out


# A centre crop never reaches past this many shorter sides along the longer one: cutting the rest off
# first keeps a 1 x 20,000 image from being resized to 256 x 5,120,000 pixels (gigabytes) on the way.
CENTRE_BAND_ASPECT = 4.0


def resize_center_crop(image: RGBImage, size: int, crop_fraction: float = 1.0) -> RGBImage:
    """Square `size` crop from the centre, after resizing the shorter side to `size / crop_fraction`."""
    image = central_band(image, CENTRE_BAND_ASPECT)
    height, width = image.shape[:2]
    new_w, new_h, left, top = center_crop_geometry(width, height, size, crop_fraction)
    resized = resize(image, (new_w, new_h))
    return resized[top : top + size, left : left + size]


def center_crop_geometry(
    width: int, height: int, size: int, crop_fraction: float = 1.0
) -> tuple[int, int, int, int]:
    """(resized width, resized height, crop left, crop top), rounded as torchvision's Resize and
    CenterCrop round them (open_clip's transforms, which the CLIP weights were trained with): the
    longer side truncated, the crop offset rounded half to even."""
    shorter = max(size, math.floor(size / crop_fraction + 1e-6))
    if width <= height:
        new_w, new_h = shorter, max(size, int(shorter * height / width))
    else:
        new_w, new_h = max(size, int(shorter * width / height)), shorter
    return new_w, new_h, round((new_w - size) / 2), round((new_h - size) / 2)


def central_band(image: RGBImage, max_aspect: float) -> RGBImage:
    """The centre of `image` with its longer side cut to at most `max_aspect` times the shorter one."""
    height, width = image.shape[:2]
    keep_w, keep_h = min(width, math.ceil(height * max_aspect)), min(height, math.ceil(width * max_aspect))
    if (keep_w, keep_h) == (width, height):
        return image
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    return image[top : top + keep_h, left : left + keep_w]


def normalize_to_nchw(
    images: Sequence[RGBImage] | npt.NDArray[np.uint8],
    mean: Sequence[float],
    std: Sequence[float],
    scale: float = 1.0 / 255.0,
) -> FloatArray:
    """Same-sized RGB images -> float32 (n, 3, h, w) of (pixel * scale - mean) / std per channel."""
    batch = np.stack(list(images)).astype(np.float32) * np.float32(scale)
    batch -= np.asarray(mean, dtype=np.float32)
    batch /= np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def crop_with_context(image: RGBImage, box: Box, pad_ratio: float) -> RGBImage:
    """Copy of the box enlarged by `pad_ratio` of its width/height on each side, clipped to the image.

    Never empty: a degenerate or outside box still yields at least one pixel at its nearest point,
    so every detection gets a vector.
    """
    height, width = image.shape[:2]
    pad_x, pad_y = box.width * pad_ratio, box.height * pad_ratio
    x1 = min(max(math.floor(box.x1 - pad_x), 0), width - 1)
    y1 = min(max(math.floor(box.y1 - pad_y), 0), height - 1)
    x2 = min(max(math.ceil(box.x2 + pad_x), x1 + 1), width)
    y2 = min(max(math.ceil(box.y2 + pad_y), y1 + 1), height)
    return image[y1:y2, x1:x2].copy()
