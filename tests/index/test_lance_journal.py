"""The LanceDB store's write journal: entries of dead writers are repaired, live ones left alone."""

from __future__ import annotations

import contextlib
from pathlib import Path

from pixseek.index.lance_journal import WriteJournal


def test_an_entry_of_a_live_writer_is_left_alone(tmp_path: Path) -> None:
    journal = WriteJournal(tmp_path)
    with journal.writing(["a", "b"]):
        assert list(journal.abandoned()) == []
    assert list(journal.abandoned()) == []  # a finished write leaves nothing


def test_an_entry_of_a_failed_writer_is_handed_over_once(tmp_path: Path) -> None:
    journal = WriteJournal(tmp_path)
    with contextlib.suppress(RuntimeError), journal.writing(["a", "b"]):
        raise RuntimeError("crash")
    assert list(journal.abandoned()) == [["a", "b"]]
    assert list(journal.abandoned()) == []
