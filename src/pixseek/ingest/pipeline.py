"""The ingest pipeline: hash -> skip known -> decode -> detect + embed (batched) -> write.

`prepare` (I/O and decode, thread-parallel) and `commit` (models and store) are separate so a
caller can decode the next batch while the models work on this one. `commit` splits a batch into
shards analysed side by side, one worker per core (see `pixseek.ingest.shards`): small models that
scale poorly across threads (the starter pack's) then keep every core busy.
"""

from __future__ import annotations

import hashlib
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Literal

from pixseek.index.protocol import ImageRecord, MetadataUpdate, ObjectRecord, Store
from pixseek.ingest.decode import DecodedImage, ImageDecodeError, decode_image
from pixseek.ingest.known import metadata_change
from pixseek.ingest.media import MediaStore
from pixseek.ingest.shards import AnalysisWorkers
from pixseek.models.protocols import ModelPack
from pixseek.models.types import Analysis

IngestStatus = Literal["indexed", "exists", "rejected"]


@dataclass(frozen=True)
class IngestItem:
    data: bytes
    filename: str
    source_path: Path | None = None  # None: the store keeps its own copy of the bytes
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    filename: str
    status: IngestStatus
    image_id: str | None = None
    num_detections: int = 0
    reason: str | None = None
    updated: bool = False  # an "exists" whose new tags or new path were stored


def mark_updated(slot: PreparedImage | IngestResult, changed: set[str]) -> PreparedImage | IngestResult:
    """An "exists" result whose image's path or tags the store changed says so."""
    if isinstance(slot, IngestResult) and slot.image_id in changed:
        return replace(slot, updated=True)
    return slot


@dataclass(frozen=True)
class PreparedImage:
    item: IngestItem
    image_id: str
    decoded: DecodedImage


@dataclass(frozen=True)
class PendingCommit:
    """A batch whose analysis is queued (`Ingestor.start`), to be written by `Ingestor.finish`."""

    ready: Sequence[PreparedImage]
    analyses: Callable[[], list[Analysis]] | None
    started: float


@dataclass
class StageTimes:
    """Seconds spent per stage, summed over calls (for benchmarks and metrics)."""

    read_decode: float = 0.0
    analyze: float = 0.0
    write: float = 0.0
    images: int = 0


def content_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ready_images(slots: Sequence[PreparedImage | IngestResult]) -> list[PreparedImage]:
    return [slot for slot in slots if isinstance(slot, PreparedImage)]


def clean_filename(name: str) -> str:
    """A display name from a client-supplied name: last path part, no control characters."""
    base = PurePath(name.replace("\\", "/")).name
    printable = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    return printable.strip()[:255] or "image"


def clean_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """Trimmed, non-empty, de-duplicated tags in their given order."""
    seen: dict[str, None] = {}
    for tag in tags:
        text = tag.strip()[:100]
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


class Ingestor:
    def __init__(
        self,
        pack: ModelPack,
        store: Store,
        media: MediaStore,
        max_pixels: int,
        decode_workers: int = 2,
        analyze_workers: int | None = None,
    ) -> None:
        """`analyze_workers`: batches are analysed in that many concurrent shards (default: one
        per usable CPU; 1 runs the analyzer once per batch, as a GPU pack wants)."""
        self.pack = pack
        self.store = store
        self.media = media
        self.max_pixels = max_pixels
        self.times = StageTimes()
        # Told every result as it is decided (the API counts outcomes for /metrics).
        self.observers: list[Callable[[Sequence[IngestResult]], None]] = []
        self._decode_pool = ThreadPoolExecutor(decode_workers, thread_name_prefix="pixseek-decode")
        self._analysis = AnalysisWorkers(analyze_workers)
        # Checking which ids are stored and writing the new ones is one step: see `commit`.
        self._commit_lock = threading.Lock()

    def ingest(self, items: Sequence[IngestItem]) -> list[IngestResult]:
        """Ingest a batch; results come back in the order of `items`."""
        slots = self.prepare(items)
        committed = iter(self.commit(ready_images(slots)))
        results = [next(committed) if isinstance(s, PreparedImage) else s for s in slots]
        # A repeat within the batch has what its first copy found.
        found = {r.image_id: r.num_detections for r in results if r.status == "indexed"}
        return [
            replace(r, num_detections=found[r.image_id])
            if r.status == "exists" and r.image_id in found
            else r
            for r in results
        ]

    def prepare(self, items: Sequence[IngestItem]) -> list[PreparedImage | IngestResult]:
        """Per item, in order: decoded and ready, or already done (known, repeated or rejected)."""
        started = time.perf_counter()
        ids = [content_id(item.data) for item in items]
        stored = {record.id: record for record in self.store.get_many(list(dict.fromkeys(ids)))}
        known = set(stored)
        decoded = list(self._decode_pool.map(self._decode_or_error, items, ids, [known] * len(items)))
        slots: list[PreparedImage | IngestResult] = []
        updates: list[MetadataUpdate] = []
        updating: set[int] = set()  # the slots that sent an update
        first_copies: dict[str, int] = {}  # id -> slot of its first copy in this batch
        for item, image_id, outcome in zip(items, ids, decoded, strict=True):
            name = clean_filename(item.filename)
            if image_id in known:
                # A stored image again: no analysis; new tags or a moved file's new path are stored.
                record = stored[image_id]
                change = metadata_change(record, clean_tags(item.tags), item.source_path)
                if change is not None:
                    updates.append(change)
                    updating.add(len(slots))
                slots.append(IngestResult(name, "exists", image_id, len(record.detections)))
            elif image_id in first_copies:
                # A repeat within the batch: stored once, with the tags of every copy.
                first = slots[first_copies[image_id]]
                assert isinstance(first, PreparedImage)
                tags = (*first.item.tags, *item.tags)
                slots[first_copies[image_id]] = replace(first, item=replace(first.item, tags=tags))
                slots.append(IngestResult(name, "exists", image_id))
            elif isinstance(outcome, DecodedImage):
                first_copies[image_id] = len(slots)
                slots.append(PreparedImage(item, image_id, outcome))
            else:
                slots.append(IngestResult(name, "rejected", None, reason=outcome))
        changed = self._update_metadata(updates)
        slots = [mark_updated(slot, changed) if n in updating else slot for n, slot in enumerate(slots)]
        self.times.read_decode += time.perf_counter() - started
        self._tell([slot for slot in slots if isinstance(slot, IngestResult)])
        return slots

    def _update_metadata(self, updates: Sequence[MetadataUpdate]) -> set[str]:
        if not updates:
            return set()
        with self._commit_lock:
            return self.store.update_metadata(updates)

    def _decode_or_error(self, item: IngestItem, image_id: str, known: set[str]) -> DecodedImage | str:
        if image_id in known:
            return "known"  # not decoded: the store has it
        try:
            return decode_image(item.data, self.max_pixels)
        except ImageDecodeError as exc:
            return exc.reason

    def commit(self, ready: Sequence[PreparedImage]) -> list[IngestResult]:
        """Run the models over the batch and write every image with its objects."""
        return self.finish(self.start(ready))

    def start(self, ready: Sequence[PreparedImage]) -> PendingCommit:
        """Queue the batch for the models; `finish` waits for them and writes. Starting batch n+1
        before finishing batch n keeps every core busy through batch n's last shard and its write."""
        analyses = (
            self._analysis.submit(self.pack.analyzer, [p.decoded.rgb for p in ready]) if ready else None
        )
        return PendingCommit(ready, analyses, time.perf_counter())

    def finish(self, pending: PendingCommit) -> list[IngestResult]:
        ready = pending.ready
        if pending.analyses is None:  # an empty batch
            return []
        started = pending.started
        analyses = pending.analyses()
        analyzed = time.perf_counter()
        now = datetime.now(UTC)
        batch: list[tuple[ImageRecord, list[ObjectRecord]]] = []
        for prepared, analysis in zip(ready, analyses, strict=True):
            item, decoded = prepared.item, prepared.decoded
            path = item.source_path or self.media.save(prepared.image_id, decoded.extension, item.data)
            record = ImageRecord(
                id=prepared.image_id,
                path=str(path),
                filename=clean_filename(item.filename),
                width=decoded.width,
                height=decoded.height,
                captured_at=decoded.captured_at,
                ingested_at=now,
                tags=clean_tags(item.tags),
                detections=tuple(analysis.detections),
                vector=analysis.image_vector,
            )
            objects = [
                ObjectRecord(index, detection, analysis.object_vectors[index])
                for index, detection in enumerate(analysis.detections)
            ]
            batch.append((record, objects))
        with self._commit_lock:
            # Another request may have stored the same bytes since `prepare`: writing them again
            # would delete and re-add its acknowledged image, which searches would miss meanwhile.
            stored = self.store.existing_ids([record.id for record, _ in batch])
            fresh = [(record, objects) for record, objects in batch if record.id not in stored]
            if fresh:
                self.store.upsert(fresh)
            # Their tags are added, as for any known image sent again.
            added = [MetadataUpdate(r.id, add_tags=r.tags) for r, _ in batch if r.id in stored and r.tags]
            changed = self.store.update_metadata(added) if added else set()
        finished = time.perf_counter()
        self.times.analyze += analyzed - started
        self.times.write += finished - analyzed
        self.times.images += len(ready)
        # Stored meanwhile by another request: the same bytes, so the same detections.
        results = [
            IngestResult(record.filename, "exists" if record.id in stored else "indexed", record.id,
                         len(record.detections), updated=record.id in changed)
            for record, _ in batch
        ]  # fmt: skip
        self._tell(results)
        return results

    def _tell(self, results: Sequence[IngestResult]) -> None:
        for observer in self.observers:
            observer(results)

    def close(self) -> None:
        self._decode_pool.shutdown(wait=True)
        self._analysis.close()
