"""Request and response bodies of the API, apart from the store's records (built from them here)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pixseek.index.protocol import ImageHit, ImageRecord, ObjectHit
from pixseek.models.types import Detection
from pixseek.search.dates import parse_date
from pixseek.search.service import CLASS_MIN_CONFIDENCE, SortOrder

MAX_K = 1000  # results per request (the plan's k), whatever the store could return
MAX_OFFSET = 9_999  # with k, bounded again by the search service's window
SORT_HELP = "'score' (best first) or 'date' (newest capture first among the PIXSEEK_DATE_SORT_POOL best)"
# The hard cap of the request schema; the search service refuses (422) past PIXSEEK_MAX_QUERY_CHARS.
MAX_QUERY_TEXT = 10_000
QUERY_TEXT_HELP = "what to look for, in words (at most PIXSEEK_MAX_QUERY_CHARS: 1,000 by default)"


# --- shared pieces --------------------------------------------------------------------------
class BoundingBox(BaseModel):
    """Box corners in pixels of the upright original image."""

    x1: float
    y1: float
    x2: float
    y2: float


class DetectionOut(BaseModel):
    bbox: BoundingBox
    class_id: int
    class_name: str
    confidence: float


class ImageSummary(BaseModel):
    image_id: str
    filename: str
    image_url: str
    thumbnail_url: str
    width: int
    height: int
    captured_at: datetime | None
    tags: list[str]
    num_detections: int
    detections: list[DetectionOut]


class SearchResult(ImageSummary):
    score: float


class ObjectResult(SearchResult):
    """An image with the one detected object that matched (`object`, also at `object_index`)."""

    object_index: int
    object: DetectionOut


class ImageDetail(ImageSummary):
    ingested_at: datetime


# --- search requests ------------------------------------------------------------------------
def _date_bound(value: object) -> object:
    # Pydantic would read a number as a Unix timestamp, and a date-time at midnight as a bare date
    # (a whole day); read as the CLI reads them: YYYY-MM-DD is a day, anything longer a date-time.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("expected a date (YYYY-MM-DD) or a date-time string, not a number")
    return parse_date(value) if isinstance(value, str) else value


DateBound = Annotated[date | datetime | None, BeforeValidator(_date_bound)]


# Numbers in JSON bodies are strict: lax parsing would take `false` or "0.5" for a number, which the
# schema does not allow (found by the API fuzz test).
class PagingFields(BaseModel):
    k: int = Field(20, ge=1, le=MAX_K, strict=True, description="results to return")
    offset: int = Field(
        0, ge=0, le=MAX_OFFSET, strict=True, description="results to skip (offset + k <= 10000)"
    )
    min_score: float = Field(
        -1.0, ge=-1.0, le=1.0, strict=True, description="drop results scoring below this"
    )
    sort: SortOrder = Field("score", description=SORT_HELP)


class FilterFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text_query: str = Field(min_length=1, max_length=MAX_QUERY_TEXT, description=QUERY_TEXT_HELP)
    yolo_classes: list[str] | None = Field(None, max_length=80, description="detected classes (COCO names)")
    date_from: DateBound = Field(None, description="capture date from (inclusive)")
    date_to: DateBound = Field(None, description="capture date to (a bare date: whole day)")
    tags: list[str] | None = Field(None, max_length=100, description="any of these tags")


class HybridSearchRequest(FilterFields, PagingFields):
    min_confidence: float = Field(
        CLASS_MIN_CONFIDENCE, ge=0.0, le=1.0, strict=True, description="a class counts at this confidence"
    )
    classes_mode: Literal["any", "all"] = Field("any", description="any listed class, or all of them")


class ImageFilterQuery(BaseModel):
    """The filters of the query-string image searches (text GET, similar by id or upload)."""

    yolo_classes: list[str] | None = None
    min_confidence: float = CLASS_MIN_CONFIDENCE
    classes_mode: Literal["any", "all"] = "any"
    date_from: DateBound = None
    date_to: DateBound = None
    tags: list[str] | None = None


class ObjectSearchRequest(FilterFields, PagingFields):
    min_confidence: float = Field(
        0.0, ge=0.0, le=1.0, strict=True, description="objects at this confidence or more"
    )


# --- other responses ------------------------------------------------------------------------
class IngestResponse(BaseModel):
    # "success": newly indexed (the original plan's word, kept for its clients); "exists": known bytes.
    status: Literal["success", "exists"]
    image_id: str
    filename: str
    num_detections: int
    processing_time_ms: float


class BatchItem(BaseModel):
    filename: str
    status: Literal["indexed", "exists", "rejected"]
    image_id: str | None
    num_detections: int
    reason: str | None = None


class BatchIngestResponse(BaseModel):
    indexed: int
    existing: int
    rejected: int
    results: list[BatchItem]
    processing_time_ms: float


class DeleteResponse(BaseModel):
    deleted: str


class ServiceInfo(BaseModel):
    service: str
    status: str
    version: str


class StoreStatus(BaseModel):
    backend: str
    images: int
    objects: int
    indexed: bool


class CacheStatus(BaseModel):
    size: int
    capacity: int
    hits: int
    misses: int
    hit_rate: float


class HealthResponse(BaseModel):
    status: Literal["starting", "ready", "failed"]
    ready: bool
    version: str
    model_pack: str | None = None
    store: StoreStatus | None = None
    cache: CacheStatus | None = None
    api_key_required: bool = False
    error: str | None = None


class ClassesResponse(BaseModel):
    classes: list[str]


class TagCount(BaseModel):
    tag: str
    images: int


class TagsResponse(BaseModel):
    tags: list[TagCount]


def tags_response(ordered: list[tuple[str, int]]) -> TagsResponse:
    return TagsResponse(tags=[TagCount(tag=tag, images=images) for tag, images in ordered])


# --- from records ---------------------------------------------------------------------------
def detection_out(detection: Detection) -> DetectionOut:
    box = detection.box
    return DetectionOut(
        bbox=BoundingBox(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2),
        class_id=detection.class_id,
        class_name=detection.class_name,
        confidence=round(detection.confidence, 4),
    )


def _summary_fields(record: ImageRecord) -> dict[str, object]:
    return {
        "image_id": record.id,
        "filename": record.filename,
        "image_url": f"/images/{record.id}/file",
        "thumbnail_url": f"/images/{record.id}/thumbnail",
        "width": record.width,
        "height": record.height,
        "captured_at": record.captured_at,
        "tags": list(record.tags),
        "num_detections": len(record.detections),
        "detections": [detection_out(d) for d in record.detections],
    }


def search_result(hit: ImageHit) -> SearchResult:
    return SearchResult.model_validate({**_summary_fields(hit.record), "score": round(hit.score, 6)})


def object_result(hit: ObjectHit) -> ObjectResult:
    return ObjectResult.model_validate({
        **_summary_fields(hit.record),
        "score": round(hit.score, 6),
        "object_index": hit.object_index,
        "object": detection_out(hit.detection),
    })  # fmt: skip


def image_summary(record: ImageRecord) -> ImageSummary:
    return ImageSummary.model_validate(_summary_fields(record))


def image_detail(record: ImageRecord) -> ImageDetail:
    return ImageDetail.model_validate({**_summary_fields(record), "ingested_at": record.ingested_at})
