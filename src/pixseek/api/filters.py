"""From search requests to the store's filters: class names checked, dates made UTC ranges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from pixseek.api.schemas import FilterFields, HybridSearchRequest, ObjectSearchRequest
from pixseek.index.protocol import ImageFilter, ObjectFilter
from pixseek.search.service import Page


def page_of(request: HybridSearchRequest | ObjectSearchRequest) -> Page:
    return Page(k=request.k, offset=request.offset, min_score=request.min_score, sort=request.sort)


def image_filter(request: HybridSearchRequest, known_classes: Sequence[str]) -> ImageFilter:
    date_from, date_to = date_range(request)
    return ImageFilter(
        classes=checked_classes(request.yolo_classes or (), known_classes),
        classes_mode=request.classes_mode,
        min_confidence=request.min_confidence,
        date_from=date_from,
        date_to=date_to,
        tags=_clean(request.tags),
    )


def object_filter(request: ObjectSearchRequest, known_classes: Sequence[str]) -> ObjectFilter:
    date_from, date_to = date_range(request)
    return ObjectFilter(
        classes=checked_classes(request.yolo_classes or (), known_classes),
        min_confidence=request.min_confidence,
        date_from=date_from,
        date_to=date_to,
        tags=_clean(request.tags),
    )


def checked_classes(classes: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in classes if name not in known]
    if unknown:
        raise ValueError(f"unknown class {unknown[0]!r}; GET /classes lists the {len(known)} known classes")
    return tuple(dict.fromkeys(classes))


def date_range(request: FilterFields) -> tuple[datetime | None, datetime | None]:
    """Both ends inclusive; a bare date means the start (from) or the end (to) of that UTC day."""
    start = _as_utc(request.date_from, time.min)
    end = _as_utc(request.date_to, time.max)
    if start and end and start > end:
        raise ValueError("date_from is after date_to")
    return start, end


def _as_utc(value: date | datetime | None, day_time: time) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, day_time, tzinfo=UTC)
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC time
        raise ValueError(f"date out of range: {value.isoformat()}") from None


def _clean(tags: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.strip() for tag in tags or () if tag.strip()))
