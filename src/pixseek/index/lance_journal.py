"""A journal of the image ids whose rows are being written, so that opening the store repairs a crash;
and the lock that serializes read-merge-write updates across processes.

Each write holds an exclusive `flock` on its own journal file while it runs. A file whose lock can be taken
belongs to a writer that died (or failed) mid-write; one still locked belongs to a live writer, perhaps in
another process, and is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path


class WriteJournal:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def writing(self, image_ids: Sequence[str]) -> Iterator[None]:
        """Journal `image_ids` for the duration of the block; an exception leaves the entry behind."""
        name = uuid.uuid4().hex
        draft = self._folder / f".{name}.tmp"
        entry = self._folder / f"{name}.json"
        with draft.open("w", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            json.dump(list(image_ids), f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(draft, entry)  # visible only once complete, and already locked
            yield
            entry.unlink()

    def has_entries(self) -> bool:
        return any(self._folder.glob("*.json"))

    def abandoned(self) -> Iterator[list[str]]:
        """Ids of each entry whose writer is gone; the entry is removed once the caller resumes."""
        for entry in sorted(self._folder.glob("*.json")):
            try:
                f = entry.open(encoding="utf-8")
            except FileNotFoundError:  # its writer just finished
                continue
            with f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer
                yield json.load(f)
                entry.unlink(missing_ok=True)


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `path` for the block, across processes (released if the holder dies)."""
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
