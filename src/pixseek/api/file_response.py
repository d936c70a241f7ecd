"""A file answer streamed from a handle opened before the answer starts.

Starlette's FileResponse opens its path only after sending the headers, so a file deleted in
between (DELETE /images/{id} racing a download) gave a 500 or a body cut short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

CHUNK_BYTES = 64 * 1024


class OpenFileResponse(StreamingResponse):
    """The whole file (no ranges), with its length; the handle is closed once it is sent."""

    # `status_code` is read by FastAPI's schema generation from the signature.
    def __init__(
        self, handle: BinaryIO, media_type: str, headers: Mapping[str, str], status_code: int = 200
    ) -> None:
        size = os.fstat(handle.fileno()).st_size
        super().__init__(
            _chunks(handle),
            status_code=status_code,
            media_type=media_type,
            headers={**headers, "Content-Length": str(size)},
            background=BackgroundTask(handle.close),
        )


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
