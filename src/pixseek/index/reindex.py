"""Re-embed every stored image with another model pack into a new index, then switch to it at once.

The new index is built beside the live one from the original files (`record.path`); the live one
keeps answering until the target's `switch`, one atomic step (an alias swap, a symlink rename).
A run that stops part-way resumes: images already in the new index are not analyzed again.
Records keep their id, path, names, tags and dates; detections and vectors come from the new pack.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from tqdm import tqdm

from pixseek.index.protocol import ImageRecord, ObjectRecord, Store
from pixseek.ingest.decode import DecodedImage, ImageDecodeError, decode_image
from pixseek.ingest.pipeline import content_id
from pixseek.models.protocols import ModelPack
from pixseek.models.types import Analysis

PAGE = 1_000  # records read from the source store at a time
# Images written to the source while a pass ran are copied by the next; stop after this many.
MAX_PASSES = 3

ImageWithObjects = tuple[ImageRecord, Sequence[ObjectRecord]]


class ReindexTarget(Protocol):
    """Where a re-index writes: a new index or store, not yet seen by readers until `switch`."""

    location: str

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]: ...

    def upsert(self, images: Sequence[ImageWithObjects]) -> None: ...

    def switch(self) -> list[str]:
        """Make the new index the live one in one atomic step; returns the ones it replaced."""
        ...

    def delete_replaced(self, replaced: Sequence[str]) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class ScansRecords(Protocol):
    """A store that can list every record past a search window (OpenSearch's 10,000 hits)."""

    def scan_records(self, batch_size: int = PAGE) -> Iterator[list[ImageRecord]]: ...


@dataclass
class ReindexReport:
    target: str
    indexed: int = 0
    resumed: int = 0  # already in the new index, from an interrupted run
    missing: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (path, reason)
    switched: bool = False
    replaced: list[str] = field(default_factory=list)
    # Source images neither copied nor reported missing (still being added when the passes ended).
    not_copied: int = 0


def stored_records(store: Store, page: int = PAGE) -> Iterator[list[ImageRecord]]:
    """Every record of `store` (without vectors), a page at a time."""
    if isinstance(store, ScansRecords):
        yield from store.scan_records(page)
        return
    offset = 0
    while batch := store.list_images(page, offset):
        yield batch
        offset += len(batch)


def rebuilt(record: ImageRecord, decoded: DecodedImage, analysis: Analysis) -> ImageWithObjects:
    """The record with the new pack's detections and vectors; everything else as stored."""
    new = replace(
        record,
        width=decoded.width,
        height=decoded.height,
        detections=tuple(analysis.detections),
        vector=analysis.image_vector,
    )
    objects = [ObjectRecord(i, d, analysis.object_vectors[i]) for i, d in enumerate(analysis.detections)]
    return new, objects


class Reindexer:
    def __init__(
        self,
        source: Store,
        target: ReindexTarget,
        pack: ModelPack,
        max_pixels: int,
        batch_size: int = 16,
        decode_workers: int = 2,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, not {batch_size}")
        self.source, self.target, self.pack = source, target, pack
        self.max_pixels, self.batch_size = max_pixels, batch_size
        self._decode_workers = decode_workers
        self._seen: set[str] = set()

    def run(self, *, progress: bool = True, drop_missing: bool = False) -> ReindexReport:
        """Copy every image, then switch, unless some file could not be re-read (and not `drop_missing`)
        or the source holds images the passes did not reach: a switch never drops an image silently."""
        report = ReindexReport(self.target.location)
        bar = tqdm(total=self.source.count(), unit="img", disable=not progress, dynamic_ncols=True)
        with ThreadPoolExecutor(self._decode_workers, thread_name_prefix="pixseek-reindex") as pool:
            for _ in range(MAX_PASSES):
                if self._copy_pass(report, bar, pool) == 0:
                    break
        bar.close()
        handled = report.indexed + report.resumed + len(report.missing)
        report.not_copied = max(0, self.source.count() - handled)
        if report.not_copied or (report.missing and not drop_missing):
            return report
        report.replaced = self.target.switch()
        report.switched = True
        return report

    def _copy_pass(self, report: ReindexReport, bar: tqdm, pool: ThreadPoolExecutor) -> int:
        """Copy the images not handled yet in this run; returns how many there were."""
        fresh = 0
        for page in stored_records(self.source):
            todo = [record for record in page if record.id not in self._seen]
            self._seen.update(record.id for record in todo)
            fresh += len(todo)
            done = self.target.existing_ids([record.id for record in todo])
            report.resumed += len(done)
            pending = [record for record in todo if record.id not in done]
            for start in range(0, len(pending), self.batch_size):
                self._reembed(pending[start : start + self.batch_size], report, pool)
            bar.update(len(todo))
            bar.set_postfix(new=report.indexed, resumed=report.resumed, missing=len(report.missing))
        return fresh

    def _reembed(
        self, records: Sequence[ImageRecord], report: ReindexReport, pool: ThreadPoolExecutor
    ) -> None:
        ready: list[tuple[ImageRecord, DecodedImage]] = []
        for record, loaded in zip(records, pool.map(self._load, records), strict=True):
            if isinstance(loaded, DecodedImage):
                ready.append((record, loaded))
            else:
                report.missing[record.id] = (record.path, loaded)
        if not ready:
            return
        analyses = self.pack.analyzer.analyze([decoded.rgb for _, decoded in ready])
        self.target.upsert([rebuilt(r, d, a) for (r, d), a in zip(ready, analyses, strict=True)])
        report.indexed += len(ready)

    def _load(self, record: ImageRecord) -> DecodedImage | str:
        """The decoded original, or why it cannot be re-read."""
        try:
            data = Path(record.path).read_bytes()
        except OSError as exc:
            return f"cannot read file: {exc.strerror or exc}"
        if content_id(data) != record.id:
            return "file changed since it was indexed"
        try:
            return decode_image(data, self.max_pixels)
        except ImageDecodeError as exc:
            return exc.reason
