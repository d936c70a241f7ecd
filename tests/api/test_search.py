"""Searches over HTTP: text, hybrid, by uploaded image, objects; paging, min_score, sort, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixseek.api import create_app
from pixseek.engine import Engine
from pixseek.index import lance_store
from pixseek.index.protocol import ImageFilter
from tests.api.conftest import assert_error, wait_until_ready
from tests.helpers import bad_image_files, dated_jpeg

RESULT_FIELDS = {"image_id", "filename", "image_url", "score", "num_detections", "detections"}


@pytest.fixture(scope="module")
def dated(client: TestClient) -> dict[str, str]:
    """Three images tagged "dated", captured in 2021, 2023 and 2022: capture year -> id."""
    ids = {}
    for seed, year in ((1, "2021"), (2, "2023"), (3, "2022")):
        data = dated_jpeg(seed, f"{year}:06:15 12:00:00")
        response = client.post("/ingest/image", files={"image": (f"{year}.jpg", data, "image/jpeg")},
                               params={"tags": "dated"})  # fmt: skip
        ids[year] = response.json()["image_id"]
    return ids


def test_text_search_returns_plan_shaped_results_best_first(
    client: TestClient, stored: dict[str, str]
) -> None:
    response = client.get("/search/text", params={"q": "a cat", "k": 5})
    assert response.status_code == 200
    results = response.json()
    assert 0 < len(results) <= 5
    assert set(results[0]) >= RESULT_FIELDS
    assert results[0]["image_id"] == stored["chelsea"]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["image_url"] == f"/images/{stored['chelsea']}/file"


def test_results_carry_boxes_as_corners_in_original_pixels(
    client: TestClient, stored: dict[str, str]
) -> None:
    results = client.get("/search/text", params={"q": "a bus in the street", "k": 20}).json()
    bus = next(r for r in results if r["image_id"] == stored["bus"])
    assert bus["num_detections"] == len(bus["detections"]) > 0
    for detection in bus["detections"]:
        box = detection["bbox"]
        assert 0 <= box["x1"] < box["x2"] <= bus["width"] and 0 <= box["y1"] < box["y2"] <= bus["height"]
        assert {"class_id", "class_name", "confidence"} <= set(detection)
    assert "person" in {d["class_name"] for d in bus["detections"]}


def test_offset_pages_through_the_same_ranking(client: TestClient, stored: dict[str, str]) -> None:
    everything = client.get("/search/text", params={"q": "a photo", "k": 6}).json()
    first = client.get("/search/text", params={"q": "a photo", "k": 3}).json()
    second = client.get("/search/text", params={"q": "a photo", "k": 3, "offset": 3}).json()
    assert [r["image_id"] for r in first + second] == [r["image_id"] for r in everything]


def test_min_score_drops_weaker_results(client: TestClient, stored: dict[str, str]) -> None:
    results = client.get("/search/text", params={"q": "a cat", "k": 50}).json()
    cut = results[len(results) // 2]["score"]
    kept = client.get("/search/text", params={"q": "a cat", "k": 50, "min_score": cut}).json()
    assert kept and all(r["score"] >= cut for r in kept) and len(kept) < len(results)


def test_sort_by_date_puts_the_newest_capture_first(client: TestClient, dated: dict[str, str]) -> None:
    body = {"text_query": "noise", "tags": ["dated"], "sort": "date", "k": 10}
    results = client.post("/search/hybrid", json=body).json()
    assert [r["image_id"] for r in results] == [dated["2023"], dated["2022"], dated["2021"]]
    assert results[0]["captured_at"].startswith("2023-06-15")


def test_hybrid_filters_by_dates_tags_and_classes(
    client: TestClient, stored: dict[str, str], dated: dict[str, str]
) -> None:
    in_2022 = {"text_query": "noise", "tags": ["dated"], "date_from": "2022-01-01", "date_to": "2022-12-31"}
    assert [r["image_id"] for r in client.post("/search/hybrid", json=in_2022).json()] == [dated["2022"]]
    people = {"text_query": "person on street", "yolo_classes": ["person"], "min_confidence": 0.5, "k": 10}
    results = client.post("/search/hybrid", json=people).json()
    assert results and stored["bus"] in {r["image_id"] for r in results}
    for result in results:
        assert any(d["class_name"] == "person" and d["confidence"] >= 0.5 for d in result["detections"])
    pets = client.post("/search/hybrid", json={"text_query": "animal", "tags": ["pet"]}).json()
    assert [r["image_id"] for r in pets] == [stored["chelsea"]]


def test_date_times_at_midnight_are_instants_not_whole_days(
    client: TestClient, dated: dict[str, str]
) -> None:
    """The 2022 image was taken 2022-06-15 12:00 UTC."""

    def found(**bounds: str) -> list[str]:
        body = {"text_query": "noise", "tags": ["dated"], **bounds}
        response = client.post("/search/hybrid", json=body)
        assert response.status_code == 200, response.text
        return [r["image_id"] for r in response.json()]

    assert found(date_from="2022-06-15", date_to="2022-06-15") == [dated["2022"]]  # the whole day
    assert found(date_from="2022-06-15", date_to="2022-06-15T00:00:00Z") == []  # up to midnight only
    assert found(date_from="2022-06-15", date_to="2022-06-15T12:00:00+05:00") == []  # 07:00 UTC
    assert found(date_from="2022-06-15T12:00:00+01:00", date_to="2022-06-15T12:00:00Z") == [dated["2022"]]
    assert found(date_from="0999-01-01", date_to="2021-12-31") == [dated["2021"]]  # years below 1000


def test_query_string_searches_take_the_hybrid_filters(
    client: TestClient, stored: dict[str, str], dated: dict[str, str], sample_files: dict[str, Path]
) -> None:
    """GET /search/text, GET /images/{id}/similar and POST /search/similar filter as /search/hybrid."""
    in_2022 = {"tags": "dated", "date_from": "2022-01-01", "date_to": "2022-12-31", "k": 10}
    text = client.get("/search/text", params={"q": "noise", **in_2022})
    assert [r["image_id"] for r in text.json()] == [dated["2022"]]
    older = client.get(f"/images/{dated['2023']}/similar", params={"tags": "dated", "date_to": "2022-12-31"})
    assert sorted(r["image_id"] for r in older.json()) == sorted([dated["2021"], dated["2022"]])
    people = {"yolo_classes": "person, bus", "classes_mode": "all", "min_confidence": 0.3, "k": 10}
    upload = {"image": ("query.png", sample_files["bus"].read_bytes(), "image/png")}
    found = client.post("/search/similar", files=upload, params=people).json()
    assert found and found[0]["image_id"] == stored["bus"]
    for result in found:
        assert {"person", "bus"} <= {d["class_name"] for d in result["detections"] if d["confidence"] >= 0.3}
    pets = client.get(f"/images/{stored['bus']}/similar", params={"tags": "pet,none"})
    assert [r["image_id"] for r in pets.json()] == [stored["chelsea"]]


@pytest.mark.parametrize(
    ("path", "params"),
    [("/search/text", {"q": "cat", "tag": "pet"}), ("/search/text", {"q": "cat", "K": 1}),
     ("/search/text", {"q": "cat", "classes": "cat"}), ("/search/text", {"q": "cat", "date_from": "June"}),
     ("/search/text", {"q": "cat", "yolo_classes": "unicorn"}),
     ("/search/text", {"q": "cat", "date_from": "2024-02-01", "date_to": "2024-01-01"}),
     ("/search/text", {"q": "cat", "tags": ",".join(f"t{n}" for n in range(101))})],
)  # fmt: skip
def test_unknown_or_bad_query_parameters_are_422_not_ignored(
    client: TestClient, path: str, params: dict[str, Any]
) -> None:
    error = assert_error(client.get(path, params=params), 422, "validation_error")
    if "K" in params or "tag" in params or "classes" in params:
        assert "unknown query parameter" in error["message"]


def test_similar_by_id_refuses_unknown_parameters(client: TestClient, stored: dict[str, str]) -> None:
    response = client.get(f"/images/{stored['bus']}/similar", params={"tag": "pet"})
    assert "unknown query parameter 'tag'" in assert_error(response, 422, "validation_error")["message"]


@pytest.mark.parametrize(
    "params",
    [{"q": "cat", "k": 0}, {"q": "cat", "k": 1001}, {"q": ""}, {}, {"q": "cat", "offset": -1},
     {"q": "cat", "sort": "name"}, {"q": "cat", "min_score": "high"},
     {"q": "cat", "k": 1000, "offset": 9500}],
)  # fmt: skip
def test_bad_search_parameters_are_422(client: TestClient, params: dict[str, Any]) -> None:
    assert_error(client.get("/search/text", params=params), 422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [{"text_query": "cat", "date_from": "yesterday"}, {"text_query": "cat", "date_to": "2024-02-30"},
     {"text_query": "cat", "date_from": "2024-02-01", "date_to": "2024-01-01"},
     {"text_query": "cat", "yolo_classes": ["unicorn"]}, {"text_query": "cat", "k": 0},
     {"text_query": "cat", "min_confidence": 2}, {"yolo_classes": ["cat"]}, {"text_query": "   "},
     {"text_query": "cat", "colour": "red"}, {"text_query": "cat", "min_score": False},
     {"text_query": "cat", "min_score": "0.5"}, {"text_query": "cat", "k": True},
     {"text_query": "cat", "min_confidence": "0.5"}],
)  # fmt: skip
def test_bad_hybrid_bodies_are_422(client: TestClient, body: dict[str, object]) -> None:
    error = assert_error(client.post("/search/hybrid", json=body), 422, "validation_error")
    if body.get("yolo_classes") == ["unicorn"]:
        assert "unicorn" in error["message"]


def test_whole_numbers_are_numbers_in_bodies(client: TestClient) -> None:
    body = {"text_query": "cat", "min_score": 0, "min_confidence": 1, "k": 5}
    assert client.post("/search/hybrid", json=body).status_code == 200


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/search/hybrid", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "validation_error")


def test_similar_to_an_uploaded_image_finds_its_stored_copy(
    client: TestClient, stored: dict[str, str], sample_files: dict[str, Path]
) -> None:
    upload = {"image": ("query.png", sample_files["chelsea"].read_bytes(), "image/png")}
    results = client.post("/search/similar", files=upload, params={"k": 5}).json()
    assert results[0]["image_id"] == stored["chelsea"] and results[0]["score"] > 0.99


def test_similar_upload_errors(client: TestClient) -> None:
    broken = {"image": ("x.jpg", bad_image_files()["truncated.jpg"], "image/jpeg")}
    assert_error(client.post("/search/similar", files=broken), 400, "invalid_image")
    text = {"image": ("x.txt", b"just words", "text/plain")}
    assert_error(client.post("/search/similar", files=text), 415, "unsupported_media_type")
    png = {"image": ("x.png", bad_image_files()["not_an_image.png"], "image/png")}
    assert_error(client.post("/search/similar", files=png, params={"k": 0}), 422, "validation_error")


def test_object_search_returns_the_matching_box(client: TestClient, stored: dict[str, str]) -> None:
    body = {"text_query": "a person", "yolo_classes": ["person"], "min_confidence": 0.3, "k": 5}
    results = client.post("/search/objects", json=body).json()
    assert results
    for result in results:
        assert result["object"]["class_name"] == "person" and result["object"]["confidence"] >= 0.3
        assert result["detections"][result["object_index"]] == result["object"]
    assert results[0]["image_id"] in {stored["bus"], stored["zidane"], stored["astronaut"], stored["rgb"]}
    assert_error(client.post("/search/objects", json={**body, "yolo_classes": ["dragon"]}), 422)


@pytest.mark.parametrize("path", ["/search/hybrid", "/search/objects"])
def test_a_query_body_that_is_not_json_says_so(client: TestClient, path: str) -> None:
    as_text = client.post(path, content=b'{"text_query": "cat"}', headers={"Content-Type": "text/plain"})
    assert_error(as_text, 415, "unsupported_media_type")
    broken = client.post(path, content=b'{"text_query": "cat",', headers={"Content-Type": "application/json"})
    error = assert_error(broken, 422, "validation_error")
    assert error["message"].startswith("the body is not valid JSON")
    assert_error(client.post(path, content=b'{"text_query": "cat"}'), 415, "unsupported_media_type")


def test_a_query_the_store_cannot_run_is_a_500_that_echoes_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LanceDB says ValueError for a query it cannot run; that is the server's fault, not the client's
    (it was a 422 quoting the SQL and the server's paths)."""
    monkeypatch.setattr(lance_store, "image_filter_sql", lambda *_: "captured_at >>> 'broken-sql' (")
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as client:
        wait_until_ready(client)
        response = client.post("/search/hybrid", json={"text_query": "a cat", "tags": ["x"]})
    error = assert_error(response, 500, "internal_error")
    assert "broken-sql" not in response.text and "captured_at" not in error["message"]
    with pytest.raises(RuntimeError, match="LanceDB could not run a query"):
        engine.store.search_images(engine.search.embed_text("a cat"), 5, ImageFilter(tags=("x",)))
