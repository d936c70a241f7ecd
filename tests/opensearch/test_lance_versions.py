"""The embedded store's version folders behind `<db>/lance`, switched by an atomic rename."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pixseek.index import lance_versions
from pixseek.index.lance_meta import META_FILE


def store_folder(path: Path, marker: str) -> Path:
    path.mkdir(parents=True)
    (path / META_FILE).write_text("{}")
    (path / "marker").write_text(marker)
    return path


def served(db: Path) -> str:
    return (db / "lance" / "marker").read_text()


def test_first_switch_turns_the_folder_into_version_1_behind_a_symlink(tmp_path: Path) -> None:
    store_folder(tmp_path / "lance", "old")
    store_folder(tmp_path / "lance-v2", "new")
    assert lance_versions.current_version(tmp_path) == 1

    assert lance_versions.switch_to(tmp_path, 2) == tmp_path / "lance-v1"
    assert (tmp_path / "lance").is_symlink() and os.readlink(tmp_path / "lance") == "lance-v2"
    assert served(tmp_path) == "new" and (tmp_path / "lance-v1" / "marker").read_text() == "old"

    store_folder(tmp_path / "lance-v3", "newer")
    assert lance_versions.switch_to(tmp_path, 3) == tmp_path / "lance-v2"
    assert served(tmp_path) == "newer" and lance_versions.current_version(tmp_path) == 3


def test_a_switch_interrupted_after_the_exchange_is_finished_by_the_next(tmp_path: Path) -> None:
    # What a crash between the exchange and the rename leaves: the pointer right, the old folder aside.
    store_folder(tmp_path / lance_versions.SWITCH, "old")
    store_folder(tmp_path / "lance-v2", "new")
    os.symlink("lance-v2", tmp_path / "lance")
    store_folder(tmp_path / "lance-v3", "newer")

    assert lance_versions.switch_to(tmp_path, 3) == tmp_path / "lance-v2"
    assert served(tmp_path) == "newer" and (tmp_path / "lance-v1" / "marker").read_text() == "old"
    assert not (tmp_path / lance_versions.SWITCH).exists()


def test_switch_refuses_a_folder_that_is_not_a_store(tmp_path: Path) -> None:
    store_folder(tmp_path / "lance", "old")
    (tmp_path / "lance-v2").mkdir()
    with pytest.raises(FileNotFoundError, match="not a pixseek store"):
        lance_versions.switch_to(tmp_path, 2)
    assert served(tmp_path) == "old"
