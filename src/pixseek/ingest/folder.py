"""Index a folder tree: find images, ingest them in batches with a progress bar, resume for free.

Resuming needs no journal: ids are content hashes and each batch is written whole, so a re-run
skips every image a killed run already stored.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from pixseek.ingest.decode import IMAGE_EXTENSIONS
from pixseek.ingest.pipeline import (
    IngestItem,
    Ingestor,
    IngestResult,
    PendingCommit,
    PreparedImage,
    ready_images,
)


@dataclass
class FolderReport:
    indexed: int = 0
    existing: int = 0
    updated: int = 0  # of the existing: new tags or a moved file's new path stored
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def add(self, path: Path, result: IngestResult) -> None:
        if result.status == "indexed":
            self.indexed += 1
        elif result.status == "exists":
            self.existing += 1
            self.updated += result.updated
        else:
            self.rejected.append((str(path), result.reason or "rejected"))


def find_images(root: Path, unreadable: list[tuple[str, str]] | None = None) -> list[Path]:
    """Image files under `root` (recursively, by extension), in a stable order. Folders that cannot
    be listed are appended to `unreadable` as (path, reason)."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}")

    found: list[Path] = []
    folders = [str(root)]  # a stack, not recursion: Python 3.11's os.walk fails 1,000 levels down
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                listed = list(entries)
        except OSError as error:
            if unreadable is not None:
                unreadable.append((str(error.filename), f"cannot list folder: {error.strerror or error}"))
            continue
        for entry in listed:
            if _is_folder(entry, follow_symlinks=False):
                folders.append(entry.path)
            elif _is_folder(entry, follow_symlinks=True):
                continue  # a link to a folder: not followed (no cycles), and not a file either
            elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS and not entry.name.startswith("."):
                found.append(Path(entry.path))
    return sorted(found)


def _is_folder(entry: os.DirEntry[str], follow_symlinks: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow_symlinks)
    except OSError:
        return False


def batched(paths: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for start in range(0, len(paths), size):
        yield paths[start : start + size]


def prepare_paths(
    ingestor: Ingestor, paths: Sequence[Path], tags: Sequence[str]
) -> list[PreparedImage | IngestResult]:
    """Read and prepare files; one that cannot be read is rejected, the others go on."""
    items: list[IngestItem] = []
    unreadable: dict[int, IngestResult] = {}
    for position, path in enumerate(paths):
        try:
            items.append(IngestItem(read_image_file(path), path.name, path.resolve(), tuple(tags)))
        except OSError as exc:
            reason = f"cannot read file: {exc.strerror or exc}"
            unreadable[position] = IngestResult(path.name, "rejected", reason=reason)
        except ValueError as exc:
            unreadable[position] = IngestResult(path.name, "rejected", reason=str(exc))
    slots = iter(ingestor.prepare(items))
    return [unreadable.get(position) or next(slots) for position in range(len(paths))]


# Files are read whole before their header is checked against the pixel limit: bigger ones (a disk
# image or a video named *.jpg) are refused unread. Real photos, even 100 MP TIFFs, stay far below.
MAX_FILE_BYTES = 1 << 30


def read_image_file(path: Path) -> bytes:
    """The bytes of a regular file whose name the store can keep; ValueError says what else it is.

    A FIFO or a link to a device named *.jpg would block or never end; a name that is not UTF-8 (bytes
    that Python keeps as surrogates) cannot be stored and failed the whole batch's write.
    """
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("file name is not valid UTF-8: rename the file") from None
    info = path.stat()  # follows links
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ValueError(f"file too large: {info.st_size} bytes (at most {MAX_FILE_BYTES})")
    return path.read_bytes()


def index_paths(
    ingestor: Ingestor,
    paths: Sequence[Path],
    tags: Sequence[str] = (),
    batch_size: int = 16,
    progress: bool = True,
) -> FolderReport:
    """Ingest `paths` in batches, decoding batch n+1 while the models work on batch n, and queueing
    batch n+1 for the models before batch n is written (two batches in flight)."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, not {batch_size}")
    report = FolderReport()
    bar = tqdm(total=len(paths), unit="img", disable=not progress, dynamic_ncols=True)
    in_flight: deque[tuple[Sequence[Path], list[PreparedImage | IngestResult], PendingCommit]] = deque()

    def finish_oldest() -> None:
        batch, slots, pending_commit = in_flight.popleft()
        committed = iter(ingestor.finish(pending_commit))
        for path, slot in zip(batch, slots, strict=True):
            report.add(path, next(committed) if isinstance(slot, PreparedImage) else slot)
        bar.update(len(batch))
        bar.set_postfix(new=report.indexed, known=report.existing, bad=len(report.rejected))

    with ThreadPoolExecutor(1, thread_name_prefix="pixseek-prefetch") as prefetch:

        def prepare(batch: Sequence[Path]) -> list[PreparedImage | IngestResult]:
            return prepare_paths(ingestor, batch, tags)

        batches = list(batched(paths, batch_size))
        pending: Future[list[PreparedImage | IngestResult]] | None = (
            prefetch.submit(prepare, batches[0]) if batches else None
        )
        for number, batch in enumerate(batches):
            assert pending is not None
            slots = pending.result()
            pending = prefetch.submit(prepare, batches[number + 1]) if number + 1 < len(batches) else None
            in_flight.append((batch, slots, ingestor.start(ready_images(slots))))
            if len(in_flight) > 1:
                finish_oldest()
        while in_flight:
            finish_oldest()
    bar.close()
    return report
