"""Searches: by text, text with filters (hybrid), by an uploaded image, and for objects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile

from pixseek.api import engine_calls
from pixseek.api.deps import (
    FilterQuery,
    PageQuery,
    ReadyEngine,
    read_upload,
    reject_unknown_query,
    require_json,
    require_multipart,
    run_engine,
)
from pixseek.api.errors import error_responses
from pixseek.api.schemas import (
    MAX_QUERY_TEXT,
    QUERY_TEXT_HELP,
    HybridSearchRequest,
    ObjectResult,
    ObjectSearchRequest,
    SearchResult,
    object_result,
    search_result,
)

# The JSON-body searches: 415 for another content type, before FastAPI reads the body.
JSON_BODY: dict[str, Any] = {"dependencies": [Depends(require_json)], "responses": error_responses(415)}

# 400: a body that is not even text (FastAPI cannot parse it as JSON at all).
# A query parameter no search takes is refused (422), not ignored as a filter that was never applied.
router = APIRouter(
    prefix="/search",
    tags=["search"],
    dependencies=[Depends(reject_unknown_query)],
    responses=error_responses(400, 401, 413, 422, 503),
)


@router.get("/text", response_model=list[SearchResult], summary="Images matching a text")
async def search_text(
    engine: ReadyEngine,
    page: PageQuery,
    filters: FilterQuery,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_TEXT, description=QUERY_TEXT_HELP)],
) -> list[SearchResult]:
    """The hybrid search's filters as query parameters (`yolo_classes` and `tags` comma-separated)."""
    hits = await run_engine(engine_calls.search_text, engine, q, page, filters)
    return [search_result(hit) for hit in hits]


@router.post("/hybrid", response_model=list[SearchResult], summary="Text search with filters", **JSON_BODY)
async def search_hybrid(engine: ReadyEngine, request: HybridSearchRequest) -> list[SearchResult]:
    """Filters (classes at a confidence, capture dates, tags) apply inside the vector query."""
    hits = await run_engine(engine_calls.search_hybrid, engine, request)
    return [search_result(hit) for hit in hits]


@router.post(
    "/similar",
    response_model=list[SearchResult],
    summary="Images like an uploaded image",
    dependencies=[Depends(require_multipart)],
    responses=error_responses(400, 415),
)
async def search_similar(
    engine: ReadyEngine,
    page: PageQuery,
    filters: FilterQuery,
    image: Annotated[UploadFile, File(description="the query image (not stored)")],
) -> list[SearchResult]:
    """Filters as query parameters, as `GET /search/text` takes them."""
    data = await read_upload(image)
    hits = await run_engine(engine_calls.search_image, engine, data, page, filters)
    return [search_result(hit) for hit in hits]


@router.post(
    "/objects", response_model=list[ObjectResult], summary="Detected objects matching a text", **JSON_BODY
)
async def search_objects(engine: ReadyEngine, request: ObjectSearchRequest) -> list[ObjectResult]:
    """Each result is an image with the matching object (`object`, its box in original pixels)."""
    hits = await run_engine(engine_calls.search_objects, engine, request)
    return [object_result(hit) for hit in hits]
