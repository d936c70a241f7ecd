"""The API and the CLI, unchanged, over `PIXSEEK_STORE=opensearch` on the test node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pixseek.api import create_app
from pixseek.cli.main import main
from pixseek.engine import Engine
from pixseek.models.starter.pack import StarterPack
from tests.api.conftest import media_type, wait_until_ready
from tests.helpers import copy_samples
from tests.index.conftest import OPENSEARCH_URL
from tests.opensearch.conftest import NEEDS_NODE, backend_settings

pytestmark = NEEDS_NODE

SAMPLES = ("chelsea", "coffee", "bus", "zidane", "astronaut")


def test_api_answers_every_route_over_opensearch(
    starter_pack: StarterPack, tmp_path: Path, index_name: str
) -> None:
    cache = starter_pack.image_embedder.cache_file.parent
    settings = backend_settings("opensearch", tmp_path / "db", cache, index_name)
    files = {path.stem.split("-", 1)[1]: path for path in copy_samples(tmp_path / "photos", SAMPLES)}
    engine = Engine.open(settings, pack=starter_pack)
    try:
        with TestClient(create_app(engine=engine)) as client:
            wait_until_ready(client)
            assert client.get("/health").json()["store"]["backend"] == "opensearch"
            ids = {}
            for stem, path in files.items():
                upload = {"image": (path.name, path.read_bytes(), media_type(path))}
                response = client.post("/ingest/image", files=upload, params={"tags": f"sample,{stem}"})
                assert response.status_code == 200, response.text
                ids[stem] = response.json()["image_id"]  # searchable once answered: refresh=wait_for

            text = client.get("/search/text", params={"q": "a cat", "k": 3}).json()
            assert text[0]["image_id"] == ids["chelsea"]
            body = {"text_query": "people", "yolo_classes": ["person"], "min_confidence": 0.5, "k": 10}
            hybrid = client.post("/search/hybrid", json=body).json()
            assert ids["bus"] in {r["image_id"] for r in hybrid}
            assert all(any(d["class_name"] == "person" for d in r["detections"]) for r in hybrid)
            similar = client.get(f"/images/{ids['coffee']}/similar", params={"k": 3}).json()
            assert similar and ids["coffee"] not in {r["image_id"] for r in similar}
            body = {"text_query": "a person", "yolo_classes": ["person"], "k": 5}
            objects = client.post("/search/objects", json=body).json()
            assert objects and all(r["object"]["class_name"] == "person" for r in objects)
            assert all(r["detections"][r["object_index"]] == r["object"] for r in objects)
            assert client.get(f"/images/{ids['bus']}").json()["tags"] == ["sample", "bus"]

            assert client.delete(f"/images/{ids['chelsea']}").status_code == 200
            assert client.get(f"/images/{ids['chelsea']}").status_code == 404
            after = client.get("/search/text", params={"q": "a cat", "k": 10}).json()
            assert ids["chelsea"] not in {r["image_id"] for r in after} and len(after) == len(SAMPLES) - 1
    finally:
        engine.close()


def test_cli_indexes_searches_and_reindexes_over_opensearch(
    starter_pack: StarterPack,
    tmp_path: Path,
    index_name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert OPENSEARCH_URL is not None
    monkeypatch.setenv("PIXSEEK_STORE", "opensearch")
    monkeypatch.setenv("PIXSEEK_OPENSEARCH_URL", OPENSEARCH_URL)
    monkeypatch.setenv("PIXSEEK_OPENSEARCH_INDEX", index_name)
    monkeypatch.setenv("PIXSEEK_CACHE_DIR", str(starter_pack.image_embedder.cache_file.parent))
    photos = tmp_path / "photos"
    copy_samples(photos, SAMPLES)
    db = ["--db", str(tmp_path / "db")]

    def run(*args: str) -> object:
        code = main([*args, *db, "--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        return json.loads(out)

    assert run("index", str(photos), "--no-progress") == {
        "indexed": len(SAMPLES),
        "existing": 0,
        "updated": 0,
        "rejected": [],
    }
    hits = run("search", "a cat", "-k", "3")
    assert isinstance(hits, list) and hits[0]["filename"].endswith("chelsea.png")

    report = run("reindex", "--to-pack", "starter", "--delete-old", "--no-progress")
    assert report == {"target": f"{index_name}-v2", "indexed": len(SAMPLES), "resumed": 0, "missing": [],
                      "not_copied": 0, "switched": True, "replaced": [f"{index_name}-v1"]}  # fmt: skip
    assert run("search", "a cat", "-k", "3") == hits
    info = run("info")
    assert isinstance(info, dict) and info["store"]["images"] == len(SAMPLES)
