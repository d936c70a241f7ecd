"""The Store Protocol: what ingest and search need from a vector store, whatever the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from pixseek.models.types import Detection

Vector = npt.NDArray[np.float32]


def as_utc(moment: datetime) -> datetime:
    """Stores keep UTC: a naive datetime is taken as UTC, an aware one converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ModelMismatchError(RuntimeError):
    """The store was built with another model pack; its vectors are not comparable."""

    def __init__(self, stored_id: str, stored_dim: int, wanted_id: str, wanted_dim: int) -> None:
        super().__init__(
            f"store was built with model pack {stored_id!r} (dim {stored_dim}) but pack {wanted_id!r} "
            f"(dim {wanted_dim}) is loaded; open it with the same pack, or re-index into a new store "
            f"(`pixseek reindex`)"
        )
        self.stored_id, self.wanted_id = stored_id, wanted_id


@dataclass(frozen=True)
class ObjectRecord:
    """One detected object of an image, with its own embedding."""

    index: int  # position of the detection in its image
    detection: Detection
    vector: Vector


@dataclass(frozen=True)
class ImageRecord:
    """One stored image. `id` is the sha256 of its bytes."""

    id: str
    path: str  # where the original file lies (the store's own media folder for uploads)
    filename: str
    width: int
    height: int
    captured_at: datetime | None
    ingested_at: datetime
    tags: tuple[str, ...]
    detections: tuple[Detection, ...]
    vector: Vector | None = None  # None when a backend returns records without vectors


@dataclass(frozen=True)
class ImageFilter:
    """Pre-filters applied inside the vector query. Empty fields filter nothing."""

    classes: tuple[str, ...] = ()
    classes_mode: str = "any"  # "any": at least one class present; "all": every class present
    min_confidence: float = 0.0  # a class counts as present at this confidence or more
    date_from: datetime | None = None  # on captured_at, inclusive
    date_to: datetime | None = None  # inclusive
    tags: tuple[str, ...] = ()  # any-of
    exclude_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self == ImageFilter()


@dataclass(frozen=True)
class ObjectFilter:
    """Pre-filters for object search: on the object itself (class, confidence) and on its image."""

    classes: tuple[str, ...] = ()  # any-of
    min_confidence: float = 0.0
    date_from: datetime | None = None
    date_to: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetadataUpdate:
    """A stored image's new file path (None: keep it) and tags to add to its own (and its objects')."""

    image_id: str
    path: str | None = None
    add_tags: tuple[str, ...] = ()  # appended in order, each unless the image has it already

    def applied_to(self, path: str, tags: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """The path and tags an image with `path` and `tags` has after this update."""
        added = tuple(dict.fromkeys(tag for tag in self.add_tags if tag not in tags))
        return (path if self.path is None else self.path), (*tags, *added)


@dataclass(frozen=True)
class ImageHit:
    record: ImageRecord
    score: float  # cosine similarity


@dataclass(frozen=True)
class ObjectHit:
    record: ImageRecord
    object_index: int
    detection: Detection
    score: float


@dataclass(frozen=True)
class StoreInfo:
    backend: str
    location: str
    model_id: str
    dim: int
    images: int
    objects: int
    indexed: bool  # whether an ANN index serves the image table
    extra: dict[str, object] = field(default_factory=dict)


def is_hex(text: str) -> bool:
    """Only lowercase hex digits, as image ids have (and at least one)."""
    return bool(text) and all(ch in "0123456789abcdef" for ch in text)


def check_hex(prefix: str) -> None:
    """An id prefix goes into a query: only lowercase hex digits, as ids have."""
    if not is_hex(prefix):
        raise ValueError(f"not an image id prefix: {prefix!r} (lowercase hex digits)")


@runtime_checkable
class Store(Protocol):
    """A vector store of images and their objects.

    `upsert` writes an image with all its objects so that after a crash an image is either
    absent or present with every object. Searches return hits by descending cosine score.
    """

    def upsert(self, images: Sequence[tuple[ImageRecord, Sequence[ObjectRecord]]]) -> None: ...

    def get(self, image_id: str) -> ImageRecord | None: ...

    def get_many(self, image_ids: Sequence[str]) -> list[ImageRecord]:
        """The records (without vectors) of the stored images among `image_ids`, in no set order."""
        ...

    def existing_ids(self, image_ids: Sequence[str]) -> set[str]: ...

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Up to `limit` stored ids starting with `prefix` (lowercase hex): the short ids a CLI shows."""
        ...

    def update_metadata(self, updates: Sequence[MetadataUpdate]) -> set[str]:
        """Apply the updates, merging tags into what is stored at the time of the write (concurrent
        updates add up; one id's updates apply in order), in one write per table; keeps detections
        and vectors. Returns the ids whose path or tags changed; ids not stored are ignored."""
        ...

    def delete(self, image_id: str) -> bool: ...

    def count(self) -> int: ...

    def search_images(self, vector: Vector, k: int, flt: ImageFilter = ImageFilter()) -> list[ImageHit]: ...

    def search_objects(
        self, vector: Vector, k: int, flt: ObjectFilter = ObjectFilter()
    ) -> list[ObjectHit]: ...

    def list_images(self, k: int, offset: int = 0, flt: ImageFilter = ImageFilter()) -> list[ImageRecord]:
        """Images matching the filter, newest capture first (for browsing without a query)."""
        ...

    def tag_counts(self) -> dict[str, int]:
        """Every tag in the store with the number of images that carry it."""
        ...

    def optimize(self) -> None:
        """Build or refresh the ANN index so that recent rows are indexed too."""
        ...

    def info(self) -> StoreInfo: ...

    def close(self) -> None: ...
