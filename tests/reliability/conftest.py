"""Shared by the reliability tests: run length, figures for docs/RELIABILITY.md, images, live servers."""

from __future__ import annotations

import io
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from pixseek.models.starter.pack import StarterPack
from pixseek.samples import sample_images
from tests.api.live_server import live_server

# Sample photos the starter detector finds objects in, so stored images come with object rows.
PHOTOS_WITH_OBJECTS = ("bus", "zidane", "chelsea")


def run_seconds(default: float) -> float:
    """Length of the timed runs: `default` (CI), or shorter locally with PIXSEEK_RELIABILITY_SECONDS."""
    return float(os.environ.get("PIXSEEK_RELIABILITY_SECONDS", default))


def record_figures(test: str, **figures: Any) -> None:
    """Print a run's figures; also append them as a JSON line to $PIXSEEK_RELIABILITY_LOG when set."""
    line = json.dumps({"test": test, **figures}, default=str)
    print(line)
    if log := os.environ.get("PIXSEEK_RELIABILITY_LOG"):
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@cache
def _photo(name: str) -> Image.Image:
    path = next(p for p in sample_images() if p.stem == name)
    image = Image.open(path).convert("RGB")
    image.thumbnail((480, 480))  # small: fast to post and to analyse, objects still found
    return image


def photo_jpeg(seed: int, name: str | None = None) -> bytes:
    """A sample photo as JPEG, made unique by its comment: same pixels (same objects), new content id."""
    buffer = io.BytesIO()
    photo = _photo(name or PHOTOS_WITH_OBJECTS[seed % len(PHOTOS_WITH_OBJECTS)])
    photo.save(buffer, format="JPEG", quality=85, comment=f"pixseek-reliability-{seed}")
    return buffer.getvalue()


def noise_png(seed: int, size: tuple[int, int] = (48, 32)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def server_pid(base_url: str) -> int:
    """The pid of this process's `pixseek serve` child that listens on `base_url`'s port."""
    port = base_url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"serve" in args and port.encode() in args:
            return int(entry.name)
    raise LookupError(f"no pixseek serve child on port {port}")


def rss_kib(pid: int) -> int:
    """A process's resident memory in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")


@contextmanager
def started_server(
    root: Path, starter_pack: StarterPack, db: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """A live `pixseek serve` (tests/api/live_server.py) on `db`, with `env` added: its URL and pid."""
    cache_dir = starter_pack.image_embedder.cache_file.parent
    with live_server(db or root / "db", cache_dir, 180.0, **(env or {})) as url:
        yield url, server_pid(url)


def upload(data: bytes, name: str = "upload.jpg") -> dict[str, tuple[str, bytes, str]]:
    return {"image": (name, data, "image/jpeg" if name.endswith(".jpg") else "image/png")}


BOUNDARY = "pixseek-reliability-boundary"


def multipart_body(data: bytes, filename: str = "upload.jpg") -> bytes:
    """A multipart/form-data body (boundary BOUNDARY) with `data` as the `image` part, name as given."""
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n")  # fmt: skip
    return head.encode("utf-8", "surrogateescape") + data + f"\r\n--{BOUNDARY}--\r\n".encode()


class RawRequest:
    """One HTTP/1.1 request on its own socket, sent exactly as given (no client-side normalising)."""

    def __init__(
        self, base_url: str, method: str, target: str, headers: dict[str, str] | None = None
    ) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}",
                 *(f"{name}: {value}" for name, value in (headers or {}).items()), "", ""]  # fmt: skip
        self.sock.sendall("\r\n".join(lines).encode("latin-1"))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, timeout_s: float = 60) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of the answer; the socket is closed after."""
        self.sock.settimeout(timeout_s)
        raw = b""
        try:
            while b"\r\n\r\n" not in raw:
                raw += self._read()
            head, body = raw.split(b"\r\n\r\n", 1)
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
            while len(body) < int(headers.get("content-length", 0)):
                body += self._read()
            return int(status_line.split()[1]), headers, body
        finally:
            self.sock.close()

    def _read(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection without a full answer")
        return chunk


def raw_upload(base_url: str, body: bytes, api_key: str | None = None) -> RawRequest:
    """Start a POST /ingest/image of `body` (a multipart_body): headers sent, body not yet."""
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(len(body))}
    if api_key:
        headers["X-API-Key"] = api_key
    return RawRequest(base_url, "POST", "/ingest/image", headers)


def all_ids_by_search(http: httpx.Client, k: int = 1000) -> list[str]:
    """Every stored image id (fewer than `k` are stored): a text search returns the whole table."""
    response = http.get("/search/text", params={"q": "a photo", "k": k})
    assert response.status_code == 200, response.text
    return [hit["image_id"] for hit in response.json()]


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def model_cache_dir(starter_pack: StarterPack) -> Path:
    return starter_pack.image_embedder.cache_file.parent
