"""POST /ingest/image and /ingest/batch: success, duplicates, bad input, back-pressure."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient

from pixseek.ingest.pipeline import content_id
from tests.api.conftest import assert_error
from tests.helpers import bad_image_files, jpeg_bytes


def test_ingest_answers_the_plan_fields_and_stores_the_tags(client: TestClient) -> None:
    data = jpeg_bytes(101, (96, 64))
    response = client.post(
        "/ingest/image", files={"image": ("holiday.jpg", data, "image/jpeg")}, params={"tags": "test, sample"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success" and body["image_id"] == content_id(data)
    assert body["filename"] == "holiday.jpg"
    assert isinstance(body["num_detections"], int) and body["processing_time_ms"] > 0
    record = client.get(f"/images/{body['image_id']}").json()
    assert record["tags"] == ["test", "sample"] and (record["width"], record["height"]) == (96, 64)


def test_reposting_the_same_bytes_answers_exists(client: TestClient) -> None:
    data = jpeg_bytes(102)
    first = client.post("/ingest/image", files={"image": ("a.jpg", data, "image/jpeg")})
    again = client.post("/ingest/image", files={"image": ("b.jpg", data, "image/jpeg")})
    assert first.json()["status"] == "success"
    assert again.status_code == 200
    assert again.json()["status"] == "exists" and again.json()["image_id"] == first.json()["image_id"]


def test_reposting_with_new_tags_adds_them(client: TestClient) -> None:
    upload = {"image": ("t.jpg", jpeg_bytes(110), "image/jpeg")}
    first = client.post("/ingest/image", files=upload, params={"tags": "a"})
    again = client.post("/ingest/image", files=upload, params={"tags": "b,a"})
    assert again.json()["status"] == "exists"
    assert client.get(f"/images/{first.json()['image_id']}").json()["tags"] == ["a", "b"]


def test_undecodable_images_are_400_with_the_reason(client: TestClient) -> None:
    for name, data in bad_image_files().items():
        error = assert_error(
            client.post("/ingest/image", files={"image": (name, data, "image/jpeg")}), 400, "invalid_image"
        )
        assert "cannot decode" in error["message"], name
    bomb = client.post(
        "/ingest/image", files={"image": ("bomb.png", bad_image_files()["bomb.png"], "image/png")}
    )
    assert "too large" in bomb.json()["error"]["message"]


def test_a_non_image_part_or_body_is_415(client: TestClient) -> None:
    text_part = client.post("/ingest/image", files={"image": ("notes.txt", b"hello", "text/plain")})
    assert_error(text_part, 415, "unsupported_media_type")
    json_body = client.post("/ingest/image", json={"image": "aGVsbG8="})
    assert_error(json_body, 415, "unsupported_media_type")


def test_a_non_image_part_of_a_batch_is_rejected_and_the_others_ingested(client: TestClient) -> None:
    good = jpeg_bytes(111)
    files = [("images", ("fine.jpg", good, "image/jpeg")), ("images", ("notes.txt", b"hi", "text/plain"))]
    response = client.post("/ingest/batch", files=files)
    assert response.status_code == 200, response.text
    fine, notes = response.json()["results"]
    assert fine["status"] == "indexed" and fine["image_id"] == content_id(good)
    assert notes["status"] == "rejected" and "text/plain is not an image type" in notes["reason"]
    assert notes["filename"] == "notes.txt" and notes["image_id"] is None


def test_an_exists_answer_counts_the_stored_detections(
    client: TestClient, sample_files: dict[str, Path]
) -> None:
    bus = sample_files["bus"].read_bytes()
    first = client.post("/ingest/image", files={"image": ("bus.jpg", bus, "image/jpeg")}).json()
    again = client.post("/ingest/image", files={"image": ("bus.jpg", bus, "image/jpeg")}).json()
    stored = client.get(f"/images/{first['image_id']}").json()
    assert again["status"] == "exists" and len(stored["detections"]) > 0
    assert again["num_detections"] == len(stored["detections"])
    batch = client.post("/ingest/batch", files=[("images", ("bus.jpg", bus, "image/jpeg"))]).json()
    assert batch["results"][0]["num_detections"] == len(stored["detections"])


def test_a_missing_file_field_is_422(client: TestClient) -> None:
    response = client.post("/ingest/image", files={"picture": ("x.jpg", jpeg_bytes(3), "image/jpeg")})
    error = assert_error(response, 422, "validation_error")
    assert any("image" in detail["loc"] for detail in error["details"])


def test_batch_returns_a_result_per_file_in_order(client: TestClient, sample_files: dict[str, Path]) -> None:
    good = jpeg_bytes(104)
    files = [
        ("images", ("one.jpg", good, "image/jpeg")),
        ("images", ("broken.jpg", b"\xff\xd8 not really", "image/jpeg")),
        ("images", ("again.jpg", good, "image/jpeg")),
        ("images", ("rocket.jpg", sample_files["rocket"].read_bytes(), "image/jpeg")),
    ]
    response = client.post("/ingest/batch", files=files, params={"tags": "batch"})
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [item["status"] for item in body["results"]]
    assert statuses[:3] == ["indexed", "rejected", "exists"]
    assert statuses[3] in ("indexed", "exists")
    assert body["results"][1]["reason"] and body["results"][1]["image_id"] is None
    assert body["rejected"] == 1 and body["indexed"] + body["existing"] == 3


def test_ingest_beyond_the_pending_limit_is_refused_with_retry_after(client: TestClient) -> None:
    slots = client.app.state.pixseek.ingest_slots  # type: ignore[attr-defined]
    taken = 0
    while slots.try_acquire():  # what max_pending_ingests slow ingests in flight would hold
        taken += 1
    try:
        response = client.post("/ingest/image", files={"image": ("x.jpg", jpeg_bytes(105), "image/jpeg")})
        assert_error(response, 503, "busy")
        assert int(response.headers["retry-after"]) > 0
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == 2
    retried = client.post("/ingest/image", files={"image": ("x.jpg", jpeg_bytes(105), "image/jpeg")})
    assert retried.status_code == 200


def test_image_searches_beyond_the_limit_are_refused_apart_from_ingests(client: TestClient) -> None:
    """Each upload to /search/similar is decoded in memory: they hold slots of their own."""
    slots = client.app.state.pixseek.image_search_slots  # type: ignore[attr-defined]
    upload = {"image": ("q.jpg", jpeg_bytes(1106), "image/jpeg")}
    taken = 0
    while slots.try_acquire():
        taken += 1
    try:
        response = client.post("/search/similar", files=upload)
        error = assert_error(response, 503, "busy")
        assert "image searches" in error["message"] and int(response.headers["retry-after"]) > 0
        assert client.post("/ingest/image", files=upload).status_code == 200  # ingests are not held up
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == 2
    assert client.post("/search/similar", files=upload).status_code == 200


def test_octet_stream_parts_are_accepted(client: TestClient) -> None:
    data = io.BytesIO(jpeg_bytes(106))
    response = client.post("/ingest/image", files={"image": ("blob", data, "application/octet-stream")})
    assert response.status_code == 200 and response.json()["status"] == "success"
