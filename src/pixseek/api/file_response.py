"""A file answer streamed from a handle opened before the answer starts.

Starlette's FileResponse opens its path only after sending the headers, so a file deleted in
between (DELETE /images/{id} racing a download) gave a 500 or a body cut short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

CHUNK_BYTES = 64 * 1024
# Set by HeadAsGetMiddleware on the GET scope it makes of a HEAD request.
HEAD_REQUEST = "pixseek.head_request"


class OpenFileResponse(StreamingResponse):
    """The whole file (no ranges), with its length; the handle is closed once it is sent. A HEAD
    request, or a GET whose If-None-Match names this ETag (answered 304), reads none of it."""

    # `status_code` is read by FastAPI's schema generation from the signature.
    def __init__(
        self, handle: BinaryIO, media_type: str, headers: Mapping[str, str], status_code: int = 200
    ) -> None:
        size = os.fstat(handle.fileno()).st_size
        self._handle = handle
        super().__init__(
            _chunks(handle),
            status_code=status_code,
            media_type=media_type,
            headers={**headers, "Content-Length": str(size)},
            background=BackgroundTask(handle.close),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        not_modified = _etag_matches(Headers(scope=scope).get("if-none-match"), self.headers.get("etag"))
        if not (scope.get(HEAD_REQUEST) or not_modified):
            await super().__call__(scope, receive, send)
            return
        self._handle.close()
        status, headers = self.status_code, self.raw_headers
        if not_modified:  # RFC 9110 15.4.5: no body, so no Content-Length or Content-Type
            status = 304
            headers = [(k, v) for k, v in headers if k not in (b"content-length", b"content-type")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _etag_matches(if_none_match: str | None, etag: str | None) -> bool:
    if not (if_none_match and etag):
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
