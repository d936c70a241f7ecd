"""The `pixseek` command end to end: demo, search --json, index/resume, errors as exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lancedb
import pytest

from pixseek.cli.main import main
from tests.helpers import bad_image_files, copy_samples

PIXSEEK = [sys.executable, "-m", "pixseek.cli.main"]


def run_cli(
    db: Path, *args: str, cache: Path | None = None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXSEEK_DB": str(db), **(env_extra or {})}
    if cache is not None:
        env["PIXSEEK_CACHE_DIR"] = str(cache)
    return subprocess.run([*PIXSEEK, *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("demo") / "db"
    done = run_cli(db, "demo", "--json", "--no-progress")
    assert done.returncode == 0, done.stderr
    return db, json.loads(done.stdout)


def filenames(hits: list[dict]) -> list[str]:
    return [hit["filename"] for hit in hits]


def test_demo_ranks_the_cat_and_the_coffee_first(demo_db: tuple[Path, dict]) -> None:
    _db, demo = demo_db
    assert demo["indexed"] >= 10
    assert filenames(demo["searches"]["a cat"])[0] == "chelsea.png"
    assert filenames(demo["searches"]["a cup of coffee"])[0] == "coffee.png"


def test_search_json_gives_the_demo_order(demo_db: tuple[Path, dict]) -> None:
    db, demo = demo_db
    done = run_cli(db, "search", "a cat", "--json", "-k", "3")
    assert done.returncode == 0, done.stderr
    assert filenames(json.loads(done.stdout)) == filenames(demo["searches"]["a cat"])


def test_demo_object_search_finds_persons_on_the_bus_with_boxes_inside(demo_db: tuple[Path, dict]) -> None:
    db, _ = demo_db
    done = run_cli(db, "objects", "a person", "--classes", "person", "--json", "-k", "20")
    hits = json.loads(done.stdout)
    bus_hits = [h for h in hits if h["filename"] == "bus.jpg"]
    assert len(bus_hits) >= 3
    for hit in bus_hits:
        box = hit["object"]["bbox"]
        assert hit["object"]["class_name"] == "person"
        assert 0 <= box["x1"] < box["x2"] <= hit["width"]
        assert 0 <= box["y1"] < box["y2"] <= hit["height"]


def test_similar_by_id_excludes_the_image_itself(demo_db: tuple[Path, dict]) -> None:
    db, demo = demo_db
    cat_id = demo["searches"]["a cat"][0]["image_id"]
    hits = json.loads(run_cli(db, "similar", cat_id, "--json").stdout)
    assert hits and cat_id not in {h["image_id"] for h in hits}


def test_info_names_the_pack_and_counts(demo_db: tuple[Path, dict]) -> None:
    db, demo = demo_db
    info = json.loads(run_cli(db, "info", "--json").stdout)
    assert info["store"]["images"] == demo["indexed"] + demo["existing"]
    assert info["pack"]["dim"] == 384


def test_killed_index_run_resumes_to_the_same_count(tmp_path: Path) -> None:
    photos = copy_samples(tmp_path / "photos")
    reference = run_cli(tmp_path / "ref", "index", str(tmp_path / "photos"), "--json", "--no-progress")
    expected = json.loads(reference.stdout)["indexed"]
    assert expected == len(photos)

    db = tmp_path / "db"
    env = {**os.environ, "PIXSEEK_DB": str(db)}
    args = [*PIXSEEK, "index", str(tmp_path / "photos"), "--batch-size", "2", "--no-progress"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while stored_count(db) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = stored_count(db)
    assert 2 <= partial < expected, "the run should be killed half way"

    resumed = run_cli(db, "index", str(tmp_path / "photos"), "--json", "--no-progress")
    report = json.loads(resumed.stdout)
    assert report["existing"] == partial
    assert report["indexed"] == expected - partial
    assert stored_count(db) == expected


def stored_count(db: Path) -> int:
    try:
        return lancedb.connect(db / "lance").open_table("images").count_rows()
    except Exception:  # not created yet
        return 0


def test_bad_files_are_listed_and_the_exit_code_is_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    for name, data in bad_image_files().items():
        (folder / name).write_bytes(data)
    code = main(["index", str(folder), "--db", str(tmp_path / "db"), "--json", "--no-progress"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["indexed"] == 0 and len(report["rejected"]) == len(bad_image_files())


def test_missing_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["index", str(tmp_path / "nope"), "--db", str(tmp_path / "db")])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err


def test_delete_of_unknown_id_fails_with_exit_code_1(
    demo_db: tuple[Path, dict], capsys: pytest.CaptureFixture
) -> None:
    code = main(["delete", "0" * 64, "--db", str(demo_db[0])])
    assert code == 1
    assert "no stored image" in capsys.readouterr().err


def test_search_with_unknown_class_is_a_clear_error(
    demo_db: tuple[Path, dict], capsys: pytest.CaptureFixture
) -> None:
    code = main(["search", "x", "--classes", "unicorn", "--db", str(demo_db[0])])
    assert code == 2
    assert "unicorn" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["search", "x"], ["objects", "x"], ["info"], ["delete", "0" * 64]])
def test_reading_a_store_that_does_not_exist_is_an_error_and_creates_nothing(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    mistyped = tmp_path / "no-such-db"
    assert main([*command, "--db", str(mistyped)]) == 2
    assert f"no pixseek store at {mistyped}" in capsys.readouterr().err
    assert not mistyped.exists()
    a_file = tmp_path / "photo.jpg"
    a_file.write_bytes(b"not a folder")
    assert main([*command, "--db", str(a_file)]) == 2
    assert "is a file, not a store folder" in capsys.readouterr().err


def test_unreachable_opensearch_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXSEEK_STORE", "opensearch")
    monkeypatch.setenv("PIXSEEK_OPENSEARCH_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    code = main(["info", "--db", str(tmp_path / "db")])
    assert code == 3
    assert "OpenSearch at http://127.0.0.1:9 is unreachable" in capsys.readouterr().err


def test_cli_filters_default_like_the_api() -> None:
    from pixseek.api.filters import image_filter, object_filter
    from pixseek.api.schemas import HybridSearchRequest, ObjectSearchRequest
    from pixseek.cli.library_cmd import image_filter_of
    from pixseek.cli.main import build_parser

    parser = build_parser()
    search = parser.parse_args(["search", "people", "--classes", "person"])
    objects = parser.parse_args(["objects", "people", "--classes", "person"])
    known = ("person", "cat")
    api_hybrid = image_filter(HybridSearchRequest(text_query="people", yolo_classes=["person"]), known)
    api_objects = object_filter(ObjectSearchRequest(text_query="people", yolo_classes=["person"]), known)
    assert image_filter_of(search, known).min_confidence == api_hybrid.min_confidence == 0.5
    assert objects.min_confidence == api_objects.min_confidence == 0.0


def test_index_suggests_optimize_once_the_library_passes_the_ann_threshold(tmp_path: Path) -> None:
    copy_samples(tmp_path / "photos", ("chelsea", "coffee", "astronaut"))
    small = run_cli(tmp_path / "small", "index", str(tmp_path / "photos"), "--no-progress")
    assert small.returncode == 0 and "pixseek optimize" not in small.stderr
    low = {"PIXSEEK_ANN_THRESHOLD": "2"}
    large = run_cli(tmp_path / "large", "index", str(tmp_path / "photos"), "--no-progress", env_extra=low)
    assert large.returncode == 0 and "tip: run `pixseek optimize`" in large.stderr
    again = run_cli(tmp_path / "large", "index", str(tmp_path / "photos"), "--no-progress", env_extra=low)
    assert "pixseek optimize" not in again.stderr  # nothing new was stored


def test_commands_that_would_do_nothing_useful_say_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["index", str(tmp_path / "empty"), "--db", str(tmp_path / "db")]) == 0
    assert "no images under" in capsys.readouterr().err and not (tmp_path / "db").exists()
    assert main(["index", str(tmp_path / "empty"), "--db", str(tmp_path / "db"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["indexed"] == 0  # scripts still get a report
    assert main(["models", "info", "starter"]) == 2
    assert "built in" in capsys.readouterr().err
    assert main(["reindex", "--to-pack", "starter", "--db", str(tmp_path / "typo")]) == 2
    assert "no pixseek store" in capsys.readouterr().err and not (tmp_path / "typo").exists()
    assert main(["serve", "--pack", str(tmp_path / "no-pack"), "--port", "0"]) == 2
    assert "pack.json not found" in capsys.readouterr().err


def test_output_into_a_closed_pipe_ends_quietly(demo_db: tuple[Path, dict]) -> None:
    env = {**os.environ, "PIXSEEK_DB": str(demo_db[0])}
    reader_gone = subprocess.Popen([*PIXSEEK, "list", "--json"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)  # fmt: skip
    assert reader_gone.stdout and reader_gone.stderr
    reader_gone.stdout.close()
    errors = reader_gone.stderr.read().decode()
    assert (reader_gone.wait(timeout=600), errors) == (141, "")
