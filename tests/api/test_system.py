"""/, /health (readiness as a real state), /classes, unknown routes and methods."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from pixseek import __version__
from pixseek.api import create_app
from pixseek.engine import Engine
from tests.api.conftest import assert_error


def test_root_names_the_service_and_version(client: TestClient) -> None:
    body = client.get("/").json()
    assert body == {"service": "pixseek", "status": "ready", "version": __version__}


def test_health_reports_store_pack_and_cache_when_ready(client: TestClient, engine: Engine) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ready" and health["ready"] is True
    assert health["model_pack"] == engine.pack.info.model_id
    assert health["store"]["backend"] == "lancedb" and health["store"]["images"] >= 0
    assert {"size", "capacity", "hits", "misses", "hit_rate"} <= set(health["cache"])
    assert health["api_key_required"] is False


def test_health_is_503_until_the_models_are_warm(engine: Engine) -> None:
    release = threading.Event()
    original_warmup = engine.pack.warmup

    def slow_warmup() -> None:
        release.wait(30)
        original_warmup()

    engine.pack.warmup = slow_warmup  # type: ignore[method-assign]
    try:
        with TestClient(create_app(engine=engine)) as client:
            starting = client.get("/health")
            assert starting.status_code == 503
            assert starting.json()["status"] == "starting" and starting.json()["ready"] is False
            assert starting.headers["retry-after"]
            assert_error(client.get("/search/text", params={"q": "cat"}), 503, "not_ready")
            release.set()
            for _ in range(600):
                if client.get("/health").status_code == 200:
                    break
                threading.Event().wait(0.05)
            assert client.get("/health").json()["ready"] is True
    finally:
        release.set()
        del engine.pack.warmup  # type: ignore[misc]


def test_classes_lists_the_detector_classes(client: TestClient, engine: Engine) -> None:
    classes = client.get("/classes").json()["classes"]
    assert classes == list(engine.pack.info.class_names) and "person" in classes


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/no/such/route"), 404, "not_found")
    wrong = client.put("/search/text")
    assert_error(wrong, 405, "method_not_allowed")
    assert "GET" in wrong.headers["allow"]


def test_ui_shell_is_served(client: TestClient) -> None:
    page = client.get("/ui/")
    assert page.status_code == 200 and "pixseek" in page.text and "app.js" in page.text
    assert client.get("/ui/app.js").status_code == 200
