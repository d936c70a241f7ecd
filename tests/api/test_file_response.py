"""OpenFileResponse: HEAD and a matching If-None-Match answer from the file's metadata alone."""

from __future__ import annotations

import io
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from pixseek.api.file_response import OpenFileResponse
from pixseek.api.middleware import HeadAsGetMiddleware


class CountingFile(io.FileIO):
    """A real file handle that counts the bytes read from it."""

    bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        CountingFile.bytes_read += len(chunk)
        return chunk


def client_for(path: Path) -> tuple[TestClient, list[CountingFile]]:
    opened: list[CountingFile] = []

    def download(request: Request) -> OpenFileResponse:
        opened.append(CountingFile(path))
        return OpenFileResponse(opened[-1], "image/png", {"ETag": '"abc"'})

    app = Starlette(routes=[Route("/file", download)])
    app.add_middleware(HeadAsGetMiddleware)
    return TestClient(app), opened


def test_head_and_not_modified_read_nothing_and_close_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(b"x" * 1_000_000)
    client, opened = client_for(path)
    CountingFile.bytes_read = 0

    head = client.head("/file")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "1000000", b"")
    for tags in ('"abc"', 'W/"abc"', '"zzz", "abc"', "*"):
        cached = client.get("/file", headers={"If-None-Match": tags})
        assert (cached.status_code, cached.content) == (304, b""), tags
        assert "content-length" not in cached.headers and cached.headers["etag"] == '"abc"'
    assert CountingFile.bytes_read == 0
    assert all(handle.closed for handle in opened) and len(opened) == 5

    changed = client.get("/file", headers={"If-None-Match": '"other"'})
    assert (changed.status_code, len(changed.content)) == (200, 1_000_000)
    assert CountingFile.bytes_read == 1_000_000 and opened[-1].closed
