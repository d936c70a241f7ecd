"""Small builders shared by tests: bad image files and sample folders."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from pixseek.samples import sample_images


def jpeg_bytes(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def dated_jpeg(seed: int, captured: str) -> bytes:
    """A small JPEG whose EXIF says it was captured at `captured` ("YYYY:MM:DD HH:MM:SS")."""
    pixels = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[306] = captured  # EXIF DateTime, read when DateTimeOriginal is absent
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def bad_image_files() -> dict[str, bytes]:
    """One file per kind of bad input, named after it."""
    good = jpeg_bytes(1, (256, 256))
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, format="PNG")
    return {
        "empty.jpg": b"",
        "truncated.jpg": good[: len(good) // 3],
        "not_an_image.png": b"%PDF-1.4 this is not a picture at all",
        "corrupt.jpg": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8,
        "bomb.png": bomb.getvalue(),
    }


def copy_samples(folder: Path, names: tuple[str, ...] | None = None) -> list[Path]:
    """Copy the package-shipped sample photos (optionally only some, by file stem) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in sample_images():
        if names is None or path.stem in names:
            target = folder / f"{path.parent.name}-{path.name}"
            shutil.copyfile(path, target)
            copied.append(target)
    return copied
