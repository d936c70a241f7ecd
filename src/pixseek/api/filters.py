"""From search requests to the store's filters: class names checked, dates made UTC ranges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pixseek.api.schemas import FilterFields, HybridSearchRequest, ImageFilterQuery, ObjectSearchRequest
from pixseek.index.protocol import ImageFilter, ObjectFilter
from pixseek.search import dates
from pixseek.search.classes import checked_classes as classes_of_pack
from pixseek.search.service import Page


def page_of(request: HybridSearchRequest | ObjectSearchRequest) -> Page:
    return Page(k=request.k, offset=request.offset, min_score=request.min_score, sort=request.sort)


def image_filter(
    request: HybridSearchRequest | ImageFilterQuery, known_classes: Sequence[str]
) -> ImageFilter:
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
    return classes_of_pack(classes, known, f"GET /classes lists the {len(known)} known classes")


def date_range(request: FilterFields | ImageFilterQuery) -> tuple[datetime | None, datetime | None]:
    return dates.date_range(request.date_from, request.date_to)


def _clean(tags: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag.strip() for tag in tags or () if tag.strip()))
