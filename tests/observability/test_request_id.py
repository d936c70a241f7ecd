"""Request ids: taken from a sane X-Request-ID or generated, echoed, and on every log line of the request."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.observability.conftest import Traffic
from tests.observability.servers import ServeProcess

from pixseek.api.logs import JsonFormatter, RequestIdFilter
from pixseek.api.observability_middleware import RequestIdMiddleware

GENERATED = re.compile(r"[0-9a-f]{32}")


def json_lines(text: str) -> list[dict[str, object]]:
    # Native libraries (TFLite) print a few plain lines to stderr themselves; logging writes JSON.
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_sane_client_id_is_echoed(live_api: ServeProcess) -> None:
    assert (
        live_api.get("/", headers={"X-Request-ID": "client-7:abc.DEF"}).headers["X-Request-ID"]
        == "client-7:abc.DEF"
    )


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 200, "new\u00e9line"])
def test_a_missing_or_unsafe_id_is_replaced_by_a_generated_one(
    live_api: ServeProcess, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent.encode()}
    assert GENERATED.fullmatch(live_api.get("/", headers=headers).headers["X-Request-ID"])


def test_every_server_log_line_is_json_and_requests_carry_their_id(
    live_api: ServeProcess, traffic: Traffic
) -> None:
    lines = json_lines(live_api.log.read_text())
    assert lines and all({"ts", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    tagged = [line for line in lines if line["request_id"] == traffic.request_id]
    assert len(tagged) >= 2 and all(str(line["path"]).startswith("/search/text?") for line in tagged)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert all(isinstance(line["request_id"], str) for line in access)
    assert len({line["request_id"] for line in access if line["request_id"] != traffic.request_id}) == len(
        [line for line in access if line["request_id"] != traffic.request_id]
    ), "generated ids repeat"


@pytest.fixture
def logged_app() -> Iterator[tuple[TestClient, io.StringIO]]:
    """An app whose routes log (in the event loop and in the thread pool) through pixseek's handler."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("pixseek.test-request-id")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    app = FastAPI()

    @app.get("/async")
    async def in_loop() -> dict[str, str]:
        log.info("one")
        log.info("two")
        return {}

    @app.get("/sync")
    def in_thread() -> dict[str, str]:
        log.warning("three")
        return {}

    app.add_middleware(RequestIdMiddleware)
    try:
        with TestClient(app) as client:
            yield client, out
    finally:
        log.removeHandler(handler)


def test_log_lines_in_the_loop_and_in_worker_threads_carry_the_request_id(
    logged_app: tuple[TestClient, io.StringIO],
) -> None:
    client, out = logged_app
    first = client.get("/async", headers={"X-Request-ID": "req-1"})
    second = client.get("/sync")
    lines = json_lines(out.getvalue())
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("one", "req-1"),
        ("two", "req-1"),
        ("three", second.headers["X-Request-ID"]),
    ]
    assert first.headers["X-Request-ID"] == "req-1"
    logging.getLogger("pixseek.test-request-id").info("outside")
    assert json_lines(out.getvalue())[-1]["request_id"] is None
