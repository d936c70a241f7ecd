"""Dependencies injected into routes: the ready engine, paging, uploads, engine calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, ParamSpec, TypeVar

from fastapi import Depends, Path, Query, Request, Security, UploadFile
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from pixseek.api.errors import ApiError, domain_errors
from pixseek.api.middleware import API_KEY_HEADER
from pixseek.api.schemas import MAX_K, MAX_OFFSET, SORT_HELP, ImageFilterQuery
from pixseek.api.state import ServiceState
from pixseek.api.thumbnails import ThumbnailCache
from pixseek.engine import Engine
from pixseek.ingest.media import IMAGE_ID_PATTERN
from pixseek.search.dates import parse_date
from pixseek.search.service import CLASS_MIN_CONFIDENCE, Page, SortOrder

P = ParamSpec("P")
T = TypeVar("T")

RETRY_AFTER_NOT_READY_S = 5
# Declared content types an image part may carry; browsers and curl send one of these.
ACCEPTED_UPLOAD_TYPES = ("image/", "application/octet-stream")

ImageId = Annotated[str, Path(pattern=IMAGE_ID_PATTERN.pattern, description="sha256 of the image bytes")]


def service_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.pixseek
    return state


State = Annotated[ServiceState, Depends(service_state)]


def ready_engine(state: State) -> Engine:
    if state.status == "failed":
        raise ApiError(503, "not_ready", f"the engine failed to start: {state.error}")
    if not state.ready or state.engine is None:
        headers = {"Retry-After": str(RETRY_AFTER_NOT_READY_S)}
        raise ApiError(503, "not_ready", "models are still loading; retry shortly", headers=headers)
    return state.engine


ReadyEngine = Annotated[Engine, Depends(ready_engine)]


def thumbnail_cache(request: Request) -> ThumbnailCache:
    cache: ThumbnailCache = request.app.state.thumbnails
    return cache


Thumbnails = Annotated[ThumbnailCache, Depends(thumbnail_cache)]


async def run_engine(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking engine call in the thread pool (models, store, disk) with errors translated."""
    with domain_errors():
        return await run_in_threadpool(func, *args, **kwargs)


def page_query(
    k: Annotated[int, Query(ge=1, le=MAX_K, description="results to return")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="results to skip")] = 0,
    min_score: Annotated[float, Query(ge=-1.0, le=1.0, description="drop results below this")] = -1.0,
    sort: Annotated[SortOrder, Query(description=SORT_HELP)] = "score",
) -> Page:
    with domain_errors():
        return Page(k=k, offset=offset, min_score=min_score, sort=sort)


PageQuery = Annotated[Page, Depends(page_query)]


def image_filter_query(
    yolo_classes: Annotated[
        str, Query(max_length=2000, description="detected classes, comma-separated (at most 80)")
    ] = "",
    min_confidence: Annotated[
        float, Query(ge=0.0, le=1.0, description="a class counts at this confidence")
    ] = CLASS_MIN_CONFIDENCE,
    classes_mode: Annotated[
        Literal["any", "all"], Query(description="any listed class, or all of them")
    ] = "any",
    date_from: Annotated[str, Query(max_length=40, description="capture date from (inclusive)")] = "",
    date_to: Annotated[
        str, Query(max_length=40, description="capture date to (a bare date: whole day)")
    ] = "",
    tags: Annotated[
        str, Query(max_length=2000, description="any of these tags, comma-separated (at most 100)")
    ] = "",
) -> ImageFilterQuery:
    """The hybrid search's filters, from the query string: lists comma-separated as in ingest's
    `tags`, dates as YYYY-MM-DD or ISO date-times; an empty value is no filter."""
    with domain_errors():
        classes, tag_list = _comma_list(yolo_classes, 80, "yolo_classes"), _comma_list(tags, 100, "tags")
        return ImageFilterQuery(
            yolo_classes=classes or None,
            min_confidence=min_confidence,
            classes_mode=classes_mode,
            date_from=parse_date(date_from) if date_from.strip() else None,
            date_to=parse_date(date_to) if date_to.strip() else None,
            tags=tag_list or None,
        )


def comma_separated(text: str | None) -> list[str]:
    """The items of a comma-separated query value, trimmed, blanks dropped."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _comma_list(text: str, most: int, name: str) -> list[str]:
    items = comma_separated(text)
    if len(items) > most:
        raise ValueError(f"{name}: at most {most} items")
    return items


FilterQuery = Annotated[ImageFilterQuery, Depends(image_filter_query)]


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    return names.union(*(_query_names(sub) for sub in dependant.dependencies))


def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not take: a misspelt filter must not be ignored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ApiError(
            422,
            "validation_error",
            f"unknown query parameter {unknown[0]!r}; this route takes {sorted(known)}",
        )


def require_multipart(request: Request) -> None:
    """415 for a body that is not multipart (before FastAPI reports the missing file field)."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "send the image as multipart/form-data")


def require_json(request: Request) -> None:
    """415 for a body not declared as JSON (FastAPI would only say it is not an object)."""
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        raise ApiError(
            415, "unsupported_media_type", "send the query as JSON (Content-Type: application/json)"
        )


def not_an_image_type(upload: UploadFile) -> str | None:
    """Why a part is refused before reading it: it declares a type that is not an image (else None)."""
    declared = (upload.content_type or "").lower()
    if declared and not declared.startswith(ACCEPTED_UPLOAD_TYPES):
        return f"{upload.filename or 'upload'}: {declared} is not an image type"
    return None


async def read_upload(upload: UploadFile) -> bytes:
    """The bytes of an image part; 415 when the part declares a type that is not an image."""
    if reason := not_an_image_type(upload):
        raise ApiError(415, "unsupported_media_type", reason)
    return await upload.read()


# Documents the header in OpenAPI (the docs' "Authorize" button); ApiKeyMiddleware enforces it,
# before any body is read, on every path that is not public.
api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="needed when the server sets PIXSEEK_API_KEY"
)
DOCUMENT_API_KEY = Security(api_key_scheme)
