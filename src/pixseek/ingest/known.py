"""What re-ingesting a stored image changes: nothing is analysed again, but new tags are added and a
file that moved is found at its new path. The same bytes with nothing new stay a no-op."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pixseek.index.protocol import ImageRecord


@dataclass(frozen=True)
class MetadataChange:
    path: str | None = None  # the file's new place: its stored path is gone
    tags: tuple[str, ...] | None = None  # the stored tags plus the new ones, in that order


def metadata_change(
    stored: ImageRecord, tags: tuple[str, ...], source_path: Path | None
) -> MetadataChange | None:
    """`tags` (cleaned) and `source_path` of the new arrival against the stored record."""
    added = tuple(tag for tag in tags if tag not in stored.tags)
    moved = source_path is not None and str(source_path) != stored.path and not Path(stored.path).exists()
    if not added and not moved:
        return None
    return MetadataChange(str(source_path) if moved else None, (*stored.tags, *added) if added else None)
