"""Upload limit (413, enforced while the body streams), API key (401), CORS."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pixseek.api import create_app
from pixseek.config import Settings
from pixseek.engine import Engine
from tests.api.conftest import UPLOAD_LIMIT, assert_error, wait_until_ready
from tests.helpers import jpeg_bytes

KEY = "s3cret-key"


def test_a_declared_content_length_over_the_limit_is_413(client: TestClient) -> None:
    big = b"\xff" * (UPLOAD_LIMIT + 1)
    response = client.post("/ingest/image", files={"image": ("big.jpg", big, "image/jpeg")})
    error = assert_error(response, 413, "payload_too_large")
    assert str(UPLOAD_LIMIT) in error["message"]


def test_a_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    boundary = "pixseekboundary"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="b.jpg"\r\n'.encode()
        yield b"Content-Type: image/jpeg\r\n\r\n"
        for _ in range(UPLOAD_LIMIT // 65536 + 2):
            yield b"\x00" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/ingest/image", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def call_asgi(
    app: FastAPI, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> dict[str, Any]:
    """Drive the ASGI app directly, counting how many body chunks it pulls before answering."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("testserver", 80),
             "state": {}}  # fmt: skip
    asgi: Any = app
    anyio.run(asgi, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "body": json.loads(body), "pulled": pulled}


def test_the_limit_stops_a_streaming_body_at_the_first_chunk_past_it(engine: Engine) -> None:
    app = create_app(engine=engine)
    app.state.pixseek.status = "ready"  # no lifespan here: the engine is open and warm already
    chunk = 64 * 1024
    head = b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n'
    chunks = [head] + [b"\x00" * chunk] * (4 * UPLOAD_LIMIT // chunk)
    result = call_asgi(app, "/ingest/image", chunks, [(b"content-type", b"multipart/form-data; boundary=b")])
    assert result["status"] == 413 and result["body"]["error"]["code"] == "payload_too_large"
    assert result["pulled"] <= UPLOAD_LIMIT // chunk + 2 < len(chunks)  # a quarter read, then stopped

    declared = [(b"content-type", b"multipart/form-data; boundary=b"),
                (b"content-length", str(4 * UPLOAD_LIMIT).encode())]  # fmt: skip
    early = call_asgi(app, "/ingest/image", chunks, declared)
    assert early["status"] == 413 and early["pulled"] == 0  # refused on the header alone


@pytest.fixture(scope="module")
def keyed(engine: Engine, api_settings: Settings) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"api_key": KEY, "cors_origins": "https://photos.example"})
    with TestClient(create_app(settings, engine)) as client:
        wait_until_ready(client)
        yield client


def test_with_a_key_set_protected_endpoints_need_the_header(
    keyed: TestClient, stored: dict[str, str]
) -> None:
    requests = [("GET", "/search/text?q=cat"), ("GET", "/classes"), ("GET", f"/images/{stored['bus']}"),
                ("GET", f"/images/{stored['bus']}/thumbnail"), ("POST", "/search/hybrid"),
                ("DELETE", f"/images/{stored['bus']}"), ("POST", "/ingest/image")]  # fmt: skip
    for method, url in requests:
        assert_error(keyed.request(method, url), 401, "unauthorized")
        assert_error(keyed.request(method, url, headers={"X-API-Key": "wrong"}), 401)
        assert_error(keyed.request(method, url, headers=[(b"X-API-Key", "ключ".encode())]), 401)
    assert keyed.get("/search/text?q=cat", headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get(f"/images/{stored['bus']}/file", headers={"X-API-Key": KEY}).status_code == 200


def test_an_unauthorised_upload_is_refused_before_its_body_is_checked(keyed: TestClient) -> None:
    big = b"\x00" * (UPLOAD_LIMIT + 1)
    assert_error(keyed.post("/ingest/image", files={"image": ("x.jpg", big, "image/jpeg")}), 401)
    ok = keyed.post("/ingest/image", files={"image": ("k.jpg", jpeg_bytes(301), "image/jpeg")},
                    headers={"X-API-Key": KEY})  # fmt: skip
    assert ok.status_code == 200


def test_public_paths_need_no_key(keyed: TestClient) -> None:
    for path in ("/", "/health", "/ui/", "/ui/app.js", "/openapi.json", "/docs"):
        assert keyed.get(path).status_code == 200, path
    assert keyed.get("/health").json()["api_key_required"] is True
    assert "APIKeyHeader" in keyed.get("/openapi.json").json()["components"]["securitySchemes"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_everything_from_the_server_itself(keyed: TestClient, page: str) -> None:
    """No CDN: the docs work offline, as the rest of pixseek does."""
    html = keyed.get(page).text
    assert "//" not in html.replace("http://testserver", "")  # no other host named
    assets = re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        response = keyed.get(asset)  # public, as the page is
        assert response.status_code == 200 and len(response.content) > 1000, asset


def test_cors_is_off_by_default_and_on_for_listed_origins(client: TestClient, keyed: TestClient) -> None:
    origin = {"Origin": "https://photos.example"}
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    preflight = keyed.options("/search/hybrid", headers={**origin, **asks})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://photos.example"
    other = keyed.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
