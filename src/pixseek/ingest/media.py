"""The store's own copies of uploaded images, addressed only by content id (never by a client's name)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

IMAGE_ID_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def is_image_id(value: str) -> bool:
    return bool(IMAGE_ID_PATTERN.fullmatch(value))


class MediaStore:
    """Files under `root/<first two hex digits>/<id><ext>`; paths are derived from ids alone."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_for(self, image_id: str, extension: str) -> Path:
        if not is_image_id(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
        if not re.fullmatch(r"\.[a-z]{2,5}", extension):
            raise ValueError(f"bad file extension {extension!r}")
        return self.root / image_id[:2] / f"{image_id}{extension}"

    def save(self, image_id: str, extension: str, data: bytes) -> Path:
        """Write atomically (temp file + rename) so a crash never leaves half a file under the id."""
        target = self.path_for(image_id, extension)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def owns(self, path: Path) -> bool:
        """Whether `path` is one of this store's files (symlinks resolved)."""
        return path.resolve().is_relative_to(self.root)

    def remove(self, path: Path) -> None:
        if self.owns(path):
            path.unlink(missing_ok=True)
