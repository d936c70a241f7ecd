"""Searches: by text, text with filters (hybrid), by an uploaded image, and for objects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile

from pixseek.api import engine_calls
from pixseek.api.deps import PageQuery, ReadyEngine, read_upload, require_json, require_multipart, run_engine
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
router = APIRouter(prefix="/search", tags=["search"], responses=error_responses(400, 401, 413, 422, 503))


@router.get("/text", response_model=list[SearchResult], summary="Images matching a text")
async def search_text(
    engine: ReadyEngine,
    page: PageQuery,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_TEXT, description=QUERY_TEXT_HELP)],
) -> list[SearchResult]:
    hits = await run_engine(engine.search.text, q, page)
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
    image: Annotated[UploadFile, File(description="the query image (not stored)")],
) -> list[SearchResult]:
    data = await read_upload(image)
    hits = await run_engine(engine.search.image, data, page)
    return [search_result(hit) for hit in hits]


@router.post(
    "/objects", response_model=list[ObjectResult], summary="Detected objects matching a text", **JSON_BODY
)
async def search_objects(engine: ReadyEngine, request: ObjectSearchRequest) -> list[ObjectResult]:
    """Each result is an image with the matching object (`object`, its box in original pixels)."""
    hits = await run_engine(engine_calls.search_objects, engine, request)
    return [object_result(hit) for hit in hits]
