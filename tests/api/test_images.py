"""/images/{id}: record, original file, thumbnail, similar, delete; unknown and malformed ids."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.applications import Starlette
from starlette.routing import Route

from pixseek.api import engine_calls
from pixseek.api.file_response import OpenFileResponse
from pixseek.engine import Engine
from tests.api.conftest import assert_error
from tests.helpers import dated_jpeg, jpeg_bytes

UNKNOWN_ID = "0" * 64


def test_record_has_the_image_fields(client: TestClient, stored: dict[str, str]) -> None:
    record = client.get(f"/images/{stored['bus']}").json()
    assert record["image_id"] == stored["bus"] and record["filename"].endswith("bus.jpg")
    assert (record["width"], record["height"]) == (810, 1080)
    assert record["tags"] == ["sample"] and record["ingested_at"]
    assert record["num_detections"] == len(record["detections"]) > 0
    assert "path" not in record  # server paths stay private


def test_file_serves_the_exact_bytes(
    client: TestClient, stored: dict[str, str], sample_files: dict[str, Path]
) -> None:
    for stem, media in (("bus", "image/jpeg"), ("chelsea", "image/png")):
        response = client.get(f"/images/{stored[stem]}/file")
        assert response.status_code == 200
        assert response.content == sample_files[stem].read_bytes()
        assert response.headers["content-type"] == media


def test_thumbnail_is_a_smaller_jpeg_and_cached_on_disk(
    client: TestClient, stored: dict[str, str], engine: Engine
) -> None:
    response = client.get(f"/images/{stored['bus']}/thumbnail", params={"size": 128})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(response.content))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 128
    assert thumbnail.size[0] / thumbnail.size[1] == pytest.approx(810 / 1080, abs=0.01)
    cached = list((engine.settings.db / "thumbnails").rglob(f"{stored['bus']}-128.jpg"))
    assert len(cached) == 1
    assert client.get(f"/images/{stored['bus']}/thumbnail", params={"size": 128}).content == response.content


def test_thumbnail_size_is_bounded(client: TestClient, stored: dict[str, str]) -> None:
    for size in (0, 8, 4096, "big"):
        assert_error(client.get(f"/images/{stored['bus']}/thumbnail", params={"size": size}), 422)


def test_similar_to_a_stored_image_excludes_it(client: TestClient, stored: dict[str, str]) -> None:
    results = client.get(f"/images/{stored['chelsea']}/similar", params={"k": 4}).json()
    assert 0 < len(results) <= 4 and stored["chelsea"] not in {r["image_id"] for r in results}
    assert_error(client.get(f"/images/{stored['chelsea']}/similar", params={"k": 0}), 422)


def test_unknown_ids_are_404_and_malformed_ids_422(client: TestClient) -> None:
    for suffix in ("", "/file", "/thumbnail", "/similar"):
        assert_error(client.get(f"/images/{UNKNOWN_ID}{suffix}"), 404, "not_found")
        assert_error(client.get(f"/images/not-an-id{suffix}"), 422, "validation_error")
    assert_error(client.delete(f"/images/{UNKNOWN_ID}"), 404, "not_found")
    assert_error(client.delete(f"/images/{'A' * 64}"), 422, "validation_error")


def test_delete_removes_the_image_its_file_and_thumbnails(client: TestClient, engine: Engine) -> None:
    data = jpeg_bytes(201, (120, 80))
    image_id = client.post("/ingest/image", files={"image": ("gone.jpg", data, "image/jpeg")}).json()[
        "image_id"
    ]
    assert client.get(f"/images/{image_id}/thumbnail").status_code == 200
    stored_file = Path(engine.store.get(image_id).path)  # type: ignore[union-attr]
    assert stored_file.is_file()

    response = client.delete(f"/images/{image_id}")
    assert response.status_code == 200 and response.json() == {"deleted": image_id}
    assert_error(client.get(f"/images/{image_id}"), 404)
    assert_error(client.get(f"/images/{image_id}/file"), 404)
    assert not stored_file.exists()
    assert not list((engine.settings.db / "thumbnails").rglob(f"{image_id}-*.jpg"))
    results = client.get("/search/text", params={"q": "noise", "k": 100}).json()
    assert image_id not in {r["image_id"] for r in results}
    again = client.post("/ingest/image", files={"image": ("back.jpg", data, "image/jpeg")})
    assert again.json()["status"] == "success"


def test_a_stored_image_whose_file_vanished_is_404_not_500(client: TestClient, engine: Engine) -> None:
    data = jpeg_bytes(202)
    image_id = client.post("/ingest/image", files={"image": ("v.jpg", data, "image/jpeg")}).json()["image_id"]
    Path(engine.store.get(image_id).path).unlink()  # type: ignore[union-attr]
    assert_error(client.get(f"/images/{image_id}/file"), 404, "file_unavailable")
    assert_error(client.get(f"/images/{image_id}/thumbnail", params={"size": 64}), 404, "file_unavailable")
    assert client.get(f"/images/{image_id}").status_code == 200


def test_a_file_deleted_while_it_is_being_answered_is_still_sent_whole(
    client: TestClient, engine: Engine
) -> None:
    """The route opens the file before its answer starts; a DELETE landing in between (the race of
    a download and a delete) no longer makes the answer a 500 or a body cut short."""
    data = jpeg_bytes(203, (300, 200))
    image_id = client.post("/ingest/image", files={"image": ("race.jpg", data, "image/jpeg")}).json()[
        "image_id"
    ]
    opened = {"file": engine_calls.original_file(engine, image_id)}
    thumbnails = client.app.state.thumbnails  # type: ignore[attr-defined]
    opened["thumbnail"] = engine_calls.thumbnail_file(engine, thumbnails, image_id, 64)
    thumbnail_bytes = client.get(f"/images/{image_id}/thumbnail", params={"size": 64}).content
    assert client.delete(f"/images/{image_id}").status_code == 200  # the files are gone from disk now
    answers = Starlette(
        routes=[Route(f"/{kind}", lambda _r, kind=kind: OpenFileResponse(opened[kind], "image/jpeg", {}))
                for kind in opened]
    )  # fmt: skip
    with TestClient(answers) as late:
        for kind, expected in (("file", data), ("thumbnail", thumbnail_bytes)):
            response = late.get(f"/{kind}")
            assert response.status_code == 200 and response.content == expected
            assert response.headers["content-length"] == str(len(expected))
    assert opened["file"].closed and opened["thumbnail"].closed


def test_browsing_lists_images_newest_first_with_filters_and_tags_counts_them(client: TestClient) -> None:
    ids = {}
    for seed, year in ((11, "2019"), (12, "2020")):
        data = dated_jpeg(seed, f"{year}:01:02 03:04:05")
        response = client.post("/ingest/image", files={"image": (f"{year}.jpg", data, "image/jpeg")},
                               params={"tags": f"browse,browse-{year}"})  # fmt: skip
        ids[year] = response.json()["image_id"]
    listed = client.get("/images", params={"tags": "browse", "k": 10}).json()
    assert [item["image_id"] for item in listed] == [ids["2020"], ids["2019"]]
    assert listed[0]["tags"] == ["browse", "browse-2020"] and "score" not in listed[0]
    second = client.get("/images", params={"tags": "browse", "k": 1, "offset": 1}).json()
    assert [item["image_id"] for item in second] == [ids["2019"]]
    early = client.get("/images", params={"tags": "browse", "date_to": "2019-12-31"}).json()
    assert [item["image_id"] for item in early] == [ids["2019"]]
    counts = {item["tag"]: item["images"] for item in client.get("/tags").json()["tags"]}
    assert (counts["browse"], counts["browse-2019"], counts["browse-2020"]) == (2, 1, 1)
    assert_error(client.get("/images", params={"tag": "browse"}), 422, "validation_error")
    assert_error(client.get("/images", params={"k": 0}), 422, "validation_error")
    assert_error(client.get("/images", params={"k": 20, "offset": 9999}), 422, "validation_error")
