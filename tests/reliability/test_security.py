"""The API key on every data route, no file served from outside the store, names never paths, limits.

Against a live server (raw HTTP where a client would normalise the path) configured from the
environment: PIXSEEK_API_KEY, PIXSEEK_CORS_ORIGINS, PIXSEEK_MAX_UPLOAD_BYTES.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pixseek.api import create_app
from pixseek.api.middleware import is_public
from pixseek.api.schemas import MAX_K
from pixseek.config import Settings
from pixseek.models.starter.pack import StarterPack
from tests.reliability.conftest import (
    RawRequest,
    multipart_body,
    photo_jpeg,
    raw_upload,
    started_server,
    upload,
)

KEY = "reliability-key"
ORIGIN = "https://photos.example"
UPLOAD_LIMIT = 1_000_000
MAX_QUERY_CHARS = Settings().max_query_chars


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security")


@pytest.fixture(scope="module")
def server(root: Path, starter_pack: StarterPack) -> Iterator[str]:
    env = {
        "PIXSEEK_API_KEY": KEY,
        "PIXSEEK_CORS_ORIGINS": ORIGIN,
        "PIXSEEK_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }
    with started_server(root, starter_pack, env=env) as (base_url, _):
        yield base_url


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, headers={"X-API-Key": KEY}, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def image_id(http: httpx.Client) -> str:
    response = http.post("/ingest/image", files=upload(photo_jpeg(1)))
    assert response.status_code == 200, response.text
    return str(response.json()["image_id"])


def raw_get(base_url: str, target: str, key: str | None = KEY) -> tuple[int, bytes]:
    status, _, body = RawRequest(base_url, "GET", target, {"X-API-Key": key} if key else {}).response()
    return status, body


# --- the API key ------------------------------------------------------------------------------


def test_every_operation_in_the_schema_needs_the_key_unless_public(server: str, image_id: str) -> None:
    schema = httpx.get(f"{server}/openapi.json").json()  # public itself
    checked = []
    for path, methods in schema["paths"].items():
        url = server + path.replace("{image_id}", image_id)
        for method in methods:
            if is_public(path):
                assert httpx.request(method, url).status_code not in (401, 403), path
                continue
            for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY[:-1]}, {"x-api-key": KEY.upper()}):
                response = httpx.request(method, url, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.status_code)
                assert response.json()["error"]["code"] == "unauthorized"
            checked.append(f"{method.upper()} {path}")
    assert len(checked) >= 12  # every data operation; "/", /health are the public ones
    ok = httpx.get(f"{server}/images/{image_id}", headers={"X-API-Key": KEY})
    assert ok.status_code == 200


def test_no_route_outside_the_schema_is_a_data_route(root: Path) -> None:
    """Routes FastAPI leaves out of /openapi.json (docs, metrics, the UI) are all public ones."""
    app = create_app(Settings(db=root / "unopened"))  # not started: only its routes are read
    documented = set(app.openapi()["paths"])
    paths = list(route_paths(app.routes))
    assert documented < set(paths)
    assert [path for path in paths if path not in documented and not is_public(path)] == []


def route_paths(routes: list[Any], prefix: str = "") -> Iterator[str]:
    for route in routes:
        included = getattr(route, "original_router", None)  # how this FastAPI holds an included router
        if included is not None:
            yield from route_paths(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + route.path


@pytest.mark.parametrize(
    "target",
    ["/ui/../search/text?q=cat", "/ui/%2e%2e/search/text?q=cat", "/ui/..%2Fsearch%2Ftext?q=cat",
     "//search/text?q=cat", "/search/text/?q=cat", "/health/../search/text?q=cat", "/%2Fsearch/text?q=cat",
     "/./search/text?q=cat", "/search//text?q=cat", "/ui/%2e%2e%2fclasses"],
)  # fmt: skip
def test_path_tricks_do_not_get_past_the_key(server: str, target: str) -> None:
    status, body = raw_get(server, target, key=None)
    assert status in (401, 404), (target, status, body[:200])


# --- files --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/images/..%2F..%2F..%2F..%2Fetc%2Fpasswd/file", "/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd/file",
     "/images/..%252F..%252Fetc%252Fpasswd/file", "/images/%252e%252e%252fetc%252fpasswd/thumbnail",
     "/images//etc/passwd/file", "/images/%2Fetc%2Fpasswd/file", "/images/%2Fetc%2Fpasswd/thumbnail",
     "/images/../../../../etc/passwd", "/images/..%5c..%5c..%5cetc%5cpasswd/file", "/images/%00/file",
     "/images/{id}%00/file", "/images/{id}%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd/file",
     "/images/{id}/../../../../../etc/passwd", "/images/{id}/file/../../../../etc/passwd",
     "/images/%2e%2e/file", "/images/~root/file", "/images/{id}/thumbnail?size=..%2F..%2Fetc%2Fpasswd"],
)  # fmt: skip
def test_traversal_attempts_in_ids_never_reach_a_file(server: str, image_id: str, target: str) -> None:
    status, body = raw_get(server, target.replace("{id}", image_id))
    assert status in (400, 404, 405, 422), (target, status)
    assert b"root:" not in body


def test_a_link_planted_in_the_media_folder_is_not_followed(
    server: str, http: httpx.Client, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    secret = photo_jpeg(99, "zidane")  # an image, so a thumbnail would be made of it if followed
    (outside / "secret.jpg").write_bytes(secret)
    victims = []
    for seed in (2, 3):
        response = http.post("/ingest/image", files=upload(photo_jpeg(seed)))
        assert response.status_code == 200
        victims.append(response.json()["image_id"])
    media = root / "db" / "media"
    # A file replaced by a link; and a whole id folder replaced by a link to a folder holding the id.
    file_one = next((media / victims[0][:2]).glob(f"{victims[0]}.*"))
    file_one.unlink()
    file_one.symlink_to(outside / "secret.jpg")
    folder_two = media / victims[1][:2]
    name_two = next(folder_two.glob(f"{victims[1]}.*")).name
    (outside / name_two).write_bytes(secret)
    for stray in folder_two.iterdir():
        stray.unlink()
    folder_two.rmdir()
    folder_two.symlink_to(outside, target_is_directory=True)

    for victim in victims:
        for url in (f"/images/{victim}/file", f"/images/{victim}/thumbnail?size=77"):
            response = http.get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert response.json()["error"]["code"] == "file_unavailable"
            assert secret not in response.content


def test_upload_filenames_are_never_used_as_paths(server: str, http: httpx.Client, root: Path) -> None:
    # Client name -> the display name kept (its last part, printable characters only).
    names = {"../../escape.jpg": "escape.jpg", "/tmp/pixseek-absolute.jpg": "pixseek-absolute.jpg",
             "..\\..\\windows.jpg": "windows.jpg", "a/../../../b.jpg": "b.jpg", "..": "..",
             "%2e%2e%2fencoded.jpg": "%2e%2e%2fencoded.jpg", "x\x01\x7f.jpg": "x.jpg"}  # fmt: skip
    before = {path for path in root.rglob("*")}
    for seed, (name, shown) in enumerate(names.items(), start=10):
        status, _, body = _post_raw(server, multipart_body(photo_jpeg(seed), name))
        assert status == 200, (name, body)
        assert httpx.Response(200, content=body).json()["filename"] == shown
    created = {path for path in root.rglob("*")} - before
    media = (root / "db" / "media").resolve()
    files = [path for path in created if path.is_file()]
    assert len(files) >= len(names)
    assert all(path.resolve().is_relative_to(root / "db") for path in created)
    for path in files:
        if path.resolve().is_relative_to(media):  # stored copies are named by content id alone
            assert path.stem == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not Path("/tmp/pixseek-absolute.jpg").exists() and not (root.parent / "escape.jpg").exists()


def _post_raw(server: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    request = raw_upload(server, body, api_key=KEY)
    request.send(body)
    return request.response()


# --- CORS ---------------------------------------------------------------------------------------


def test_cors_is_off_by_default(root: Path) -> None:
    with TestClient(create_app(Settings(db=root / "default"))) as client:  # no PIXSEEK_CORS_ORIGINS
        assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": ORIGIN}).headers
        preflight = client.options(
            "/search/hybrid", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_the_configured_origins_only(server: str) -> None:
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key,content-type",
    }
    allowed = httpx.options(f"{server}/search/hybrid", headers={"Origin": ORIGIN, **asks})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    refused = httpx.options(f"{server}/search/hybrid", headers={"Origin": "https://evil.example", **asks})
    assert "access-control-allow-origin" not in refused.headers
    simple = httpx.get(f"{server}/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


# --- limits -------------------------------------------------------------------------------------


def test_uploads_over_the_size_limit_are_refused(http: httpx.Client) -> None:
    response = http.post("/ingest/image", files=upload(os.urandom(UPLOAD_LIMIT + 1)))
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "url", "params", "json"),
    [("GET", "/search/text", {"q": "cat", "k": MAX_K + 1}, None),
     ("GET", "/search/text", {"q": "cat", "k": 0}, None),
     ("GET", "/search/text", {"q": "cat", "k": MAX_K, "offset": 9_999}, None),
     ("POST", "/search/hybrid", None, {"text_query": "cat", "k": MAX_K + 1}),
     ("POST", "/search/objects", None, {"text_query": "cat", "k": 10**9}),
     ("GET", "/search/text", {"q": "c" * (MAX_QUERY_CHARS + 1)}, None),
     ("GET", "/search/text", {"q": "cat " * 5_000}, None),
     ("POST", "/search/hybrid", None, {"text_query": "c" * (MAX_QUERY_CHARS + 1)}),
     ("POST", "/search/objects", None, {"text_query": "c" * (MAX_QUERY_CHARS + 1)}),
     ("POST", "/search/hybrid", None, {"text_query": "cat", "yolo_classes": ["person"] * 81}),
     ("POST", "/search/hybrid", None, {"text_query": "cat", "tags": ["t"] * 101}),
     ("POST", "/ingest/image?tags=" + "t" * 2001, None, None)],
)  # fmt: skip
def test_requests_past_a_limit_are_422(
    http: httpx.Client, method: str, url: str, params: dict[str, Any] | None, json: dict[str, Any] | None
) -> None:
    files = upload(photo_jpeg(50)) if url.startswith("/ingest") else None
    response = http.request(method, url, params=params, json=json, files=files)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_texts_longer_than_the_encoders_context_are_truncated_not_refused(
    http: httpx.Client, image_id: str, starter_pack: StarterPack
) -> None:
    words = ("a bus " * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS]
    assert len(words.split()) > starter_pack.text_embedder.max_length  # more tokens than it takes in
    assert len(http.get("/search/text", params={"q": words, "k": MAX_K}).json()) >= 1
    for url in ("/search/hybrid", "/search/objects"):
        assert http.post(url, json={"text_query": words}).status_code == 200
