"""JPEG thumbnails of stored images, made once with Pillow and kept on disk under the store folder.

A thumbnail is upright (EXIF orientation applied, as at ingest), so the detection boxes, which
are in upright original pixels, scale onto it by width and height alone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from pixseek.index.protocol import ImageRecord
from pixseek.ingest.decode import decode_image
from pixseek.ingest.media import is_image_id

MIN_SIZE, DEFAULT_SIZE, MAX_SIZE = 32, 320, 1024
JPEG_QUALITY = 85


class ThumbnailCache:
    def __init__(self, root: Path, max_image_pixels: int) -> None:
        self.root = root
        self.max_image_pixels = max_image_pixels

    def path_for(self, image_id: str, size: int) -> Path:
        if not is_image_id(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
        return self.root / image_id[:2] / f"{image_id}-{size}.jpg"

    def get(self, record: ImageRecord, size: int) -> Path:
        """The thumbnail file (longest side at most `size`), made on first request.

        Raises FileNotFoundError when the original is gone, ImageDecodeError when it no longer decodes.
        """
        target = self.path_for(record.id, size)
        if not target.exists():
            data = Path(record.path).read_bytes()
            decoded = decode_image(data, self.max_image_pixels)
            image = Image.fromarray(decoded.rgb)
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            _write_jpeg(image, target)
        return target

    def remove(self, image_id: str) -> None:
        folder = self.path_for(image_id, DEFAULT_SIZE).parent
        for path in folder.glob(f"{image_id}-*.jpg"):
            path.unlink(missing_ok=True)


def _write_jpeg(image: Image.Image, target: Path) -> None:
    """Temp file + rename: concurrent requests for one thumbnail never read half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
