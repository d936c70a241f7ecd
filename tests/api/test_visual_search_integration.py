"""The plan's integration script (health, ingest with tags, text, hybrid and similar search),
against a live `pixseek serve` in a subprocess, adapted to pixseek's health fields.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pixseek.models.starter.pack import StarterPack
from tests.api.live_server import live_server
from tests.helpers import copy_samples


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, starter_pack: StarterPack) -> Iterator[str]:
    root = tmp_path_factory.mktemp("live")
    with live_server(root / "db", starter_pack.image_embedder.cache_file.parent) as url:
        yield url


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (path,) = copy_samples(tmp_path_factory.mktemp("plan-samples"), ("bus",))
    return path


def test_visual_search_integration(base_url: str, sample: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        # health
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ready" and health.json()["store"]["backend"] == "lancedb"

        # ingest with tags
        with sample.open("rb") as handle:
            files = {"image": ("sample.jpg", handle, "image/jpeg")}
            response = http.post("/ingest/image", files=files, params={"tags": "test,sample"})
        assert response.status_code == 200
        result = response.json()
        assert result["status"] == "success" and result["num_detections"] > 0
        assert result["processing_time_ms"] > 0
        image_id = result["image_id"]
        assert http.get(f"/images/{image_id}").json()["tags"] == ["test", "sample"]

        # text search
        response = http.get("/search/text", params={"q": "car", "k": 5})
        assert response.status_code == 200
        results = response.json()
        assert [r["image_id"] for r in results] == [image_id]
        assert results[0]["filename"] == "sample.jpg" and isinstance(results[0]["score"], float)

        # hybrid search
        request = {
            "text_query": "person on street",
            "yolo_classes": ["person"],
            "min_confidence": 0.5,
            "k": 10,
        }
        response = http.post("/search/hybrid", json=request)
        assert response.status_code == 200
        results = response.json()
        assert results and results[0]["image_id"] == image_id and results[0]["num_detections"] > 0

        # similar search
        with sample.open("rb") as handle:
            files = {"image": ("sample.jpg", handle, "image/jpeg")}
            response = http.post("/search/similar", files=files, params={"k": 5})
        assert response.status_code == 200
        assert response.json()[0]["image_id"] == image_id


def test_live_server_refuses_a_streamed_upload_over_the_limit(base_url: str) -> None:
    """A chunked body (no Content-Length) past the 25 MB default is answered 413 mid-stream."""
    host, port = base_url.removeprefix("http://").split(":")
    head = (f"POST /ingest/image HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n\r\n").encode()  # fmt: skip
    chunk = b"\x00" * (1 << 20)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        part = b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n'
        sock.sendall(head + f"{len(part):x}\r\n".encode() + part + b"\r\n")
        while sent < 200 and not answer:  # 200 MiB if the server read it all
            try:
                sock.sendall(framed)
            except OSError:  # the server closed its side after answering
                break
            sent += 1
            if select.select([sock], [], [], 0)[0]:
                answer = sock.recv(65536)
        answer = answer or sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"payload_too_large" in answer
    # Stopped mid-stream: the client is at most the loopback socket buffers (a few MiB each way)
    # ahead of what the server read, far below the 200 MiB a server reading everything would take.
    assert 25 <= sent < 100


def test_live_server_answers_head_as_get_without_a_body(base_url: str, sample: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        with sample.open("rb") as handle:
            uploaded = http.post("/ingest/image", files={"image": ("sample.jpg", handle, "image/jpeg")})
        image_id = uploaded.json()["image_id"]
        for path in (f"/images/{image_id}/file", f"/images/{image_id}/thumbnail", f"/images/{image_id}"):
            got, head = http.get(path), http.head(path)
            assert (head.status_code, got.status_code) == (200, 200), path
            assert head.content == b"" and len(got.content) > 0
            assert head.headers["content-length"] == str(len(got.content))
            assert head.headers["content-type"] == got.headers["content-type"]
        assert http.head(f"/images/{image_id}/file").headers["cache-control"].startswith("private")
        assert (http.head("/health").status_code, http.head("/").status_code) == (200, 200)
        assert http.head(f"/images/{'0' * 64}/file").status_code == 404
        assert http.head("/ingest/image").status_code == 405  # a POST-only route stays POST-only
