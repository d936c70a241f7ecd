"""What re-ingesting a stored image changes: nothing is analysed again, but new tags are added and a
file that moved is found at its new path. The same bytes with nothing new stay a no-op."""

from __future__ import annotations

from pathlib import Path

from pixseek.index.protocol import ImageRecord, MetadataUpdate


def metadata_change(
    stored: ImageRecord, tags: tuple[str, ...], source_path: Path | None
) -> MetadataUpdate | None:
    """`tags` (cleaned) and `source_path` of the new arrival against the stored record. The store
    merges the tags again when it writes: another request may have added some meanwhile."""
    added = tuple(tag for tag in tags if tag not in stored.tags)
    moved = source_path is not None and str(source_path) != stored.path and not Path(stored.path).exists()
    if not added and not moved:
        return None
    return MetadataUpdate(stored.id, str(source_path) if moved else None, added)
