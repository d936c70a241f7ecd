"""The library commands' filters, paging, similar-by-file, delete, optimize and reindex, through `main`."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from pixseek.cli.main import main
from pixseek.index import lance_store
from pixseek.ingest.folder import MAX_FILE_BYTES
from tests.helpers import copy_samples, dated_jpeg

SAMPLES = ("chelsea", "coffee", "bus")


@dataclass(frozen=True)
class Library:
    db: Path
    photos: Path


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def hits(capsys: pytest.CaptureFixture, db: Path, *args: str) -> list[dict]:
    code, out, err = run(capsys, *args, "--db", str(db), "--json")
    assert code == 0, err
    return json.loads(out)


def with_capture_date(photo: Path, captured: str) -> bytes:
    """`photo` re-encoded as a JPEG whose EXIF says when it was captured ("YYYY:MM:DD HH:MM:SS")."""
    exif = Image.Exif()
    exif[306] = captured
    buffer = io.BytesIO()
    Image.open(photo).convert("RGB").save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def index_folder(photos: Path, db: Path, *extra: str) -> None:
    assert main(["index", str(photos), "--db", str(db), "--no-progress", *extra]) == 0


def fresh_library(
    tmp_path: Path, capsys: pytest.CaptureFixture, samples: tuple[str, ...] = SAMPLES
) -> tuple[Path, Path]:
    """Sample photos under tmp_path/photos, indexed into tmp_path/db: (photos, db)."""
    photos, db = tmp_path / "photos", tmp_path / "db"
    copy_samples(photos, samples)
    index_folder(photos, db)
    capsys.readouterr()  # the index report
    return photos, db


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """Three sample photos (undated), the bus photo captured on 2022-06-15 18:30 (june.jpg) and a
    noise picture captured on 2022-07-01 08:00 (july.jpg)."""
    root = tmp_path_factory.mktemp("library")
    photos = root / "photos"
    copied = copy_samples(photos, SAMPLES)
    bus = next(path for path in copied if "bus" in path.name)
    (photos / "june.jpg").write_bytes(with_capture_date(bus, "2022:06:15 18:30:00"))
    (photos / "july.jpg").write_bytes(dated_jpeg(8, "2022:07:01 08:00:00"))
    index_folder(photos, root / "db", "--tags", "trip")
    return Library(root / "db", photos)


def names(found: list[dict]) -> list[str]:
    return [hit["filename"] for hit in found]


def test_a_bare_date_to_includes_that_whole_day(library: Library, capsys: pytest.CaptureFixture) -> None:
    day = ("--date-from", "2022-06-15", "--date-to", "2022-06-15")
    assert names(hits(capsys, library.db, "search", "a photo", *day)) == ["june.jpg"]
    persons = hits(capsys, library.db, "objects", "a person", "--classes", "person", *day)
    assert persons and set(names(persons)) == {"june.jpg"}  # not the same persons in the undated bus.jpg
    until = hits(capsys, library.db, "search", "a photo", "--date-to", "2022-06-30")
    assert names(until) == ["june.jpg"]


def test_date_from_after_date_to_is_an_error(library: Library, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(
        capsys, "search", "x", "--date-from", "2022-07-01", "--date-to", "2022-06-01", "--db", str(library.db)
    )
    assert code == 2 and "--date-from is after --date-to" in err


def test_sort_by_date_pages_through_one_ordering(library: Library, capsys: pytest.CaptureFixture) -> None:
    both = ("--date-from", "2022-01-01", "--sort", "date")
    assert names(hits(capsys, library.db, "search", "a photo", *both)) == ["july.jpg", "june.jpg"]
    first = hits(capsys, library.db, "search", "a photo", *both, "-k", "1")
    second = hits(capsys, library.db, "search", "a photo", *both, "-k", "1", "--offset", "1")
    assert names(first + second) == ["july.jpg", "june.jpg"]
    everything = names(hits(capsys, library.db, "search", "a photo", "--sort", "date"))
    assert everything[:2] == ["july.jpg", "june.jpg"] and len(everything) == len(SAMPLES) + 2


def test_tags_and_min_score_filter(library: Library, capsys: pytest.CaptureFixture) -> None:
    assert len(hits(capsys, library.db, "search", "a cat", "--tags", "trip")) == len(SAMPLES) + 2
    assert hits(capsys, library.db, "search", "a cat", "--tags", "elsewhere") == []
    scored = hits(capsys, library.db, "search", "a cat")
    cut = scored[1]["score"]
    kept = hits(capsys, library.db, "search", "a cat", "--min-score", str(cut))
    assert names(kept) == names(scored[:2])


def test_similar_to_a_file_finds_its_stored_copy_first(
    library: Library, capsys: pytest.CaptureFixture
) -> None:
    cat = next(library.photos.glob("*chelsea*"))
    found = hits(capsys, library.db, "similar", str(cat))
    assert found[0]["filename"] == cat.name and found[0]["score"] > 0.99


def test_the_short_ids_of_the_tables_work_as_ids(library: Library, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "search", "a cat", "-k", "1", "--db", str(library.db))
    short_id = out.splitlines()[-1].split()[-1]  # the id column of the first row
    assert code == 0 and len(short_id) == 12
    cat = hits(capsys, library.db, "search", "a cat", "-k", "1")[0]
    assert cat["image_id"].startswith(short_id)
    similar = hits(capsys, library.db, "similar", short_id)
    assert similar and cat["image_id"] not in {hit["image_id"] for hit in similar}


def test_similar_to_an_unknown_id_or_nonsense_fails(library: Library, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run(capsys, "similar", "f" * 64, "--db", str(library.db))
    assert code == 1 and "no stored image" in err
    code, _, err = run(capsys, "similar", "no-such-thing", "--db", str(library.db))
    assert code == 2 and "neither an image file nor a stored image id" in err


def test_similar_to_a_file_over_the_size_cap_fails_unread(
    library: Library, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as handle:  # sparse: no disk space used
        handle.truncate(MAX_FILE_BYTES + 1)
    code, _, err = run(capsys, "similar", str(huge), "--db", str(library.db))
    assert code == 2 and "file too large" in err


@pytest.mark.parametrize(
    "args",
    [
        ["search", "x", "-k", "0"],
        ["search", "x", "--offset", "-1"],
        ["search", "x", "--min-score", "2"],
        ["objects", "x", "--min-confidence", "1.5"],
        ["search", "x", "--date-to", "15/06/2022"],
        ["index", ".", "--batch-size", "0"],
        ["reindex", "--to-pack", "starter", "--batch-size", "-1"],
    ],
)
def test_bad_numbers_and_dates_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_delete_keeps_the_original_file_and_optimize_keeps_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    photos, db = fresh_library(tmp_path, capsys)
    cat = next(photos.glob("*chelsea*"))
    original = cat.read_bytes()
    cat_id = hits(capsys, db, "similar", str(cat))[0]["image_id"]

    code, out, err = run(capsys, "delete", cat_id[:10], "--db", str(db), "--json")  # a short id will do
    assert code == 0, err
    assert json.loads(out)["deleted"] == cat_id
    assert cat.read_bytes() == original  # an indexed folder is the user's: only the record goes
    before = names(hits(capsys, db, "search", "a cat"))
    assert cat.name not in before and len(before) == len(SAMPLES) - 1

    code, _, err = run(capsys, "optimize", "--db", str(db))
    assert code == 0, err
    assert names(hits(capsys, db, "search", "a cat")) == before


def test_reindex_switches_the_library_and_refuses_a_missing_original(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    photos, db = fresh_library(tmp_path, capsys)
    before = names(hits(capsys, db, "search", "a cat"))

    reindex = ("reindex", "--to-pack", "starter", "--db", str(db), "--no-progress")
    code, out, err = run(capsys, *reindex, "--json", "--delete-old")
    report = json.loads(out)
    assert code == 0, err
    assert report["switched"] and report["indexed"] == len(SAMPLES) and report["not_copied"] == 0
    assert not (db / "lance-v1").exists()  # --delete-old removed the replaced store
    assert names(hits(capsys, db, "search", "a cat")) == before

    shutil.move(next(photos.glob("*coffee*")), tmp_path / "elsewhere.png")
    code, _, err = run(capsys, *reindex)
    assert code == 1 and "not switched: 1 original files cannot be re-read" in err
    assert len(hits(capsys, db, "search", "a cat")) == len(SAMPLES)
    code, _, err = run(capsys, *reindex, "--drop-missing")
    assert code == 0, err
    assert len(hits(capsys, db, "search", "a cat")) == len(SAMPLES) - 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_id": "another-pack"}, "store was built with model pack 'another-pack'"),
        ({"schema_version": 99}, "store schema version 99 is not this pixseek's 1"),
        (None, "is not a pixseek store identity file"),
    ],
)
def test_a_store_of_another_pack_or_version_is_refused_and_kept(
    change: dict | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, db = fresh_library(tmp_path, capsys, ("chelsea",))
    meta = db / "lance" / "pixseek-store.json"
    original = meta.read_text()
    meta.write_text("{not json" if change is None else json.dumps({**json.loads(original), **change}))
    capsys.readouterr()

    code, _, err = run(capsys, "search", "a cat", "--db", str(db))
    assert code == 2 and message in err and "Traceback" not in err
    meta.write_text(original)
    assert len(hits(capsys, db, "search", "a cat")) == 1  # nothing was lost


def test_a_store_that_cannot_be_written_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos, db = fresh_library(tmp_path, capsys, ("coffee",))
    copy_samples(photos, ("chelsea",))

    def read_only(path: Path) -> None:  # what a read-only mount or a full disk answers to a write
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(lance_store, "held_lock", read_only)
    code, _out, err = run(capsys, "index", str(photos), "--db", str(db), "--no-progress")
    assert code == 2 and err.startswith("pixseek: error: Read-only file system: ") and "Traceback" not in err
    monkeypatch.undo()
    assert len(hits(capsys, db, "search", "a cup")) == 1  # what was stored is still there, and readable


def test_list_tags_and_classes_show_what_the_library_holds(
    library: Library, capsys: pytest.CaptureFixture
) -> None:
    listed = hits(capsys, library.db, "list")
    assert names(listed)[:2] == ["july.jpg", "june.jpg"] and len(listed) == len(SAMPLES) + 2
    assert names(hits(capsys, library.db, "list", "-k", "1", "--offset", "1")) == ["june.jpg"]
    assert names(hits(capsys, library.db, "list", "--date-to", "2022-06-30")) == ["june.jpg"]
    code, out, _ = run(capsys, "list", "--db", str(library.db))
    assert code == 0 and "july.jpg" in out and "trip" in out.splitlines()[2]  # the tags column
    assert hits(capsys, library.db, "tags") == [{"tag": "trip", "images": len(SAMPLES) + 2}]
    classes = hits(capsys, library.db, "classes")
    assert "person" in classes and "bus" in classes


def test_class_names_match_whatever_their_case_and_typos_get_a_suggestion(
    library: Library, capsys: pytest.CaptureFixture
) -> None:
    upper = hits(capsys, library.db, "search", "a bus", "--classes", "BUS")
    assert upper == hits(capsys, library.db, "search", "a bus", "--classes", "bus") != []
    code, _, err = run(capsys, "search", "a bus", "--classes", "buss", "--db", str(library.db))
    assert code == 2 and "did you mean 'bus'" in err and "pixseek classes" in err
    code, _, err = run(capsys, "objects", "a bus", "--classes", "cars", "--db", str(library.db))
    assert code == 2 and "did you mean 'car'" in err


def test_delete_by_tag_removes_every_image_with_it_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = tmp_path / "db"
    index_folder(copy_samples(tmp_path / "a", ("chelsea", "coffee"))[0].parent, db, "--tags", "demo")
    index_folder(copy_samples(tmp_path / "b", ("rocket",))[0].parent, db, "--tags", "mine")
    capsys.readouterr()
    code, out, _ = run(capsys, "delete", "--tag", "demo", "--db", str(db))
    assert code == 0 and "deleted 2 images tagged 'demo'" in out
    assert [name.endswith("rocket.jpg") for name in names(hits(capsys, db, "list"))] == [True]
    for args in (["delete"], ["delete", "abcdef", "--tag", "mine"]):
        code, _, err = run(capsys, *args, "--db", str(db))
        assert code == 2 and "--tag" in err
