"""One app per test package on a temporary store with the real starter pack and a few samples."""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixseek.api import create_app
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.models.starter.pack import StarterPack
from tests.helpers import copy_samples

UPLOAD_LIMIT = 2_000_000  # small enough to test, large enough for every sample photo
SAMPLE_NAMES = ("chelsea", "coffee", "rocket", "motorcycle_left", "astronaut", "bus", "zidane", "rgb")


def media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def wait_until_ready(client: TestClient, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, client.get("/health").json()
        time.sleep(0.05)


@pytest.fixture(scope="package")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sample photos by stem (e.g. "chelsea", "bus")."""
    paths = copy_samples(tmp_path_factory.mktemp("samples"), SAMPLE_NAMES)
    return {path.stem.split("-", 1)[1]: path for path in paths}


@pytest.fixture(scope="package")
def api_settings(tmp_path_factory: pytest.TempPathFactory, starter_pack: StarterPack) -> Settings:
    return Settings(
        db=tmp_path_factory.mktemp("api") / "db",
        cache_dir=starter_pack.image_embedder.cache_file.parent,
        max_upload_bytes=UPLOAD_LIMIT,
        max_pending_ingests=2,
    )


@pytest.fixture(scope="package")
def engine(api_settings: Settings, starter_pack: StarterPack) -> Iterator[Engine]:
    engine = Engine.open(api_settings, pack=starter_pack)
    yield engine
    engine.close()


@pytest.fixture(scope="package")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=engine)) as client:
        wait_until_ready(client)
        yield client


@pytest.fixture(scope="package")
def stored(client: TestClient, sample_files: dict[str, Path]) -> dict[str, str]:
    """The samples ingested once (tagged "sample", the cat also "pet"): stem -> image id."""
    ids = {}
    for stem, path in sample_files.items():
        tags = "sample,pet" if stem == "chelsea" else "sample"
        with path.open("rb") as handle:
            response = client.post(
                "/ingest/image", files={"image": (path.name, handle, media_type(path))}, params={"tags": tags}
            )
        assert response.status_code == 200, response.text
        ids[stem] = response.json()["image_id"]
    return ids


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has `status` and the one error shape; returns its `error` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error
