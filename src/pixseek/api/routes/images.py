"""One stored image: its record, file, thumbnail, look-alikes, and deleting it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from pixseek.api import engine_calls
from pixseek.api.deps import (
    FilterQuery,
    ImageId,
    PageQuery,
    ReadyEngine,
    Thumbnails,
    reject_unknown_query,
    run_engine,
)
from pixseek.api.errors import error_responses
from pixseek.api.file_response import OpenFileResponse
from pixseek.api.schemas import (
    MAX_K,
    MAX_OFFSET,
    DeleteResponse,
    ImageDetail,
    ImageSummary,
    SearchResult,
    image_detail,
    image_summary,
    search_result,
)
from pixseek.api.thumbnails import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE

router = APIRouter(prefix="/images", tags=["images"], responses=error_responses(401, 404, 422, 503))

# Originals keep their format; named here, not by the host's mime.types (which vary for BMP/TIFF).
_TYPE_BY_EXTENSION = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".png": "image/png",
                      ".webp": "image/webp", ".bmp": "image/bmp", ".dib": "image/bmp", ".gif": "image/gif",
                      ".tif": "image/tiff", ".tiff": "image/tiff"}  # fmt: skip
_UNKNOWN_TYPE = "application/octet-stream"
_IMAGE_TYPES = sorted({*_TYPE_BY_EXTENSION.values(), _UNKNOWN_TYPE})
_FILE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {"schema": {"type": "string", "format": "binary"}} for media in _IMAGE_TYPES},
          "description": "The original bytes as ingested"},
}  # fmt: skip
_JPEG_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
          "description": "A JPEG, longest side at most `size`"},
}  # fmt: skip
# Content-addressed: the bytes behind an id never change (the id is their ETag).
_IMMUTABLE = {"Cache-Control": "private, max-age=86400"}


@router.get(
    "",
    response_model=list[ImageSummary],
    summary="Browse the library, newest capture first",
    dependencies=[Depends(reject_unknown_query)],
)
async def list_images(
    engine: ReadyEngine,
    filters: FilterQuery,
    k: Annotated[int, Query(ge=1, le=MAX_K, description="images to return")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="images to skip")] = 0,
) -> list[ImageSummary]:
    """Undated images last; the hybrid search's filters as query parameters."""
    records = await run_engine(engine_calls.list_images, engine, k, offset, filters)
    return [image_summary(record) for record in records]


@router.get("/{image_id}", response_model=ImageDetail, summary="A stored image's record")
async def get_image(engine: ReadyEngine, image_id: ImageId) -> ImageDetail:
    return image_detail(await run_engine(engine_calls.image_record, engine, image_id))


@router.get(
    "/{image_id}/file", response_class=OpenFileResponse, responses=_FILE_CONTENT, summary="The original"
)
async def get_image_file(engine: ReadyEngine, image_id: ImageId) -> OpenFileResponse:
    handle = await run_engine(engine_calls.original_file, engine, image_id)
    media_type = _TYPE_BY_EXTENSION.get(Path(handle.name).suffix.lower(), _UNKNOWN_TYPE)
    return OpenFileResponse(handle, media_type, {**_IMMUTABLE, "ETag": f'"{image_id}"'})


@router.get(
    "/{image_id}/thumbnail", response_class=OpenFileResponse, responses=_JPEG_CONTENT, summary="A thumbnail"
)
async def get_thumbnail(
    engine: ReadyEngine,
    thumbnails: Thumbnails,
    image_id: ImageId,
    size: Annotated[int, Query(ge=MIN_SIZE, le=MAX_SIZE, description="longest side, pixels")] = DEFAULT_SIZE,
) -> OpenFileResponse:
    handle = await run_engine(engine_calls.thumbnail_file, engine, thumbnails, image_id, size)
    return OpenFileResponse(handle, "image/jpeg", {**_IMMUTABLE, "ETag": f'"{image_id}-{size}"'})


@router.get(
    "/{image_id}/similar",
    response_model=list[SearchResult],
    summary="Images like a stored one",
    dependencies=[Depends(reject_unknown_query)],
)
async def get_similar(
    engine: ReadyEngine, image_id: ImageId, page: PageQuery, filters: FilterQuery
) -> list[SearchResult]:
    """Never the image itself. Filters as query parameters, as `GET /search/text` takes them."""
    hits = await run_engine(engine_calls.similar, engine, image_id, page, filters)
    return [search_result(hit) for hit in hits]


@router.delete("/{image_id}", response_model=DeleteResponse, summary="Delete an image and its objects")
async def delete_image(engine: ReadyEngine, thumbnails: Thumbnails, image_id: ImageId) -> DeleteResponse:
    await run_engine(engine_calls.delete_image, engine, thumbnails, image_id)
    return DeleteResponse(deleted=image_id)
