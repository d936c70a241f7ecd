"""Adding images: one per request (the plan's endpoint) or several."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile

from pixseek.api import engine_calls
from pixseek.api.deps import (
    ReadyEngine,
    comma_separated,
    not_an_image_type,
    read_upload,
    require_multipart,
    run_engine,
)
from pixseek.api.errors import error_responses
from pixseek.api.schemas import BatchIngestResponse, BatchItem, IngestResponse
from pixseek.ingest.pipeline import IngestResult, clean_filename

router = APIRouter(
    prefix="/ingest",
    tags=["ingest"],
    dependencies=[Depends(require_multipart)],
    responses=error_responses(400, 401, 413, 415, 422, 503),
)

TagsQuery = Annotated[str | None, Query(max_length=2000, description="comma-separated tags")]


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@router.post("/image", response_model=IngestResponse, summary="Detect, embed and store one image")
async def ingest_image(
    engine: ReadyEngine,
    image: Annotated[UploadFile, File(description="the image file")],
    tags: TagsQuery = None,
) -> IngestResponse:
    """Re-posting the same bytes answers 200 with `status: "exists"` (ids are content hashes); tags
    the stored image does not have yet are added to it."""
    started = time.perf_counter()
    data = await read_upload(image)
    result = await run_engine(
        engine_calls.ingest_one, engine, data, image.filename or "", comma_separated(tags)
    )
    assert result.image_id is not None and result.status != "rejected"
    return IngestResponse(
        status="success" if result.status == "indexed" else "exists",
        image_id=result.image_id,
        filename=result.filename,
        num_detections=result.num_detections,
        processing_time_ms=elapsed_ms(started),
    )


@router.post("/batch", response_model=BatchIngestResponse, summary="Ingest several images, a result each")
async def ingest_batch(
    engine: ReadyEngine,
    images: Annotated[list[UploadFile], File(description="image files")],
    tags: TagsQuery = None,
) -> BatchIngestResponse:
    """Undecodable files, and parts that declare a type other than an image, are `rejected` with a
    reason; the others are still ingested."""
    started = time.perf_counter()
    refused = {i: reason for i, upload in enumerate(images) if (reason := not_an_image_type(upload))}
    uploads = [
        (await upload.read(), upload.filename or "") for i, upload in enumerate(images) if i not in refused
    ]
    ingested = iter(await run_engine(engine_calls.ingest_many, engine, uploads, comma_separated(tags)))
    results = [
        IngestResult(clean_filename(upload.filename or ""), "rejected", reason=refused[i])
        if i in refused
        else next(ingested)
        for i, upload in enumerate(images)
    ]
    items = [BatchItem.model_validate(result, from_attributes=True) for result in results]
    return BatchIngestResponse(
        indexed=sum(item.status == "indexed" for item in items),
        existing=sum(item.status == "exists" for item in items),
        rejected=sum(item.status == "rejected" for item in items),
        results=items,
        processing_time_ms=elapsed_ms(started),
    )
