"""`pixseek reindex`: a new index built beside the live one, switched to in one step, resumable."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.index import lance_versions
from pixseek.index.factory import open_store
from pixseek.index.lance_store import LanceStore
from pixseek.index.protocol import ModelMismatchError, Store
from pixseek.index.reindex import Reindexer, ReindexReport
from pixseek.index.reindex_targets import open_target
from pixseek.ingest.folder import index_paths
from pixseek.models.protocols import ImageAnalyzer, ModelPack
from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import Analysis, RGBImage
from tests.helpers import copy_samples
from tests.opensearch.conftest import NEEDS_NODE, RenamedPack

SAMPLES = ("chelsea", "coffee", "rocket", "motorcycle_left", "astronaut", "bus", "zidane", "rgb")
K = 5


@pytest.fixture
def library(library_settings: Settings, starter_pack: StarterPack, tmp_path: Path) -> Settings:
    """The sample photos indexed with the starter pack on one backend."""
    paths = copy_samples(tmp_path / "photos", SAMPLES)
    engine = Engine.open(library_settings, pack=starter_pack)
    try:
        report = index_paths(engine.ingestor, paths, ("sample",), progress=False)
    finally:
        engine.close()
    assert report.indexed == len(SAMPLES)
    return library_settings


def reindex(settings: Settings, old: ModelPack, new: ModelPack, **run: bool) -> ReindexReport:
    source = open_store(settings, old.info)
    target = open_target(settings, source, new.info)
    try:
        return Reindexer(source, target, new, settings.max_image_pixels, batch_size=3).run(
            progress=False, **run
        )
    finally:
        source.close()
        target.close()


def live_version(settings: Settings, store: Store) -> str:
    if settings.store == "opensearch":
        from pixseek.index.opensearch_store import OpenSearchStore

        assert isinstance(store, OpenSearchStore)
        return ",".join(store.current_indices())
    return f"lance-v{lance_versions.current_version(settings.db)}"


@pytest.mark.parametrize("library_settings", [pytest.param("opensearch", marks=NEEDS_NODE)], indirect=True)
def test_alias_swap_while_searches_keep_answering(library: Settings, starter_pack: StarterPack) -> None:
    new_pack = RenamedPack.of(starter_pack)
    query = starter_pack.text_embedder.embed_texts(["a cat on a sofa"])[0]
    reader = open_store(library, starter_pack.info)  # a server's store, opened before the re-index
    expected = [hit.record.id for hit in reader.search_images(query, K)]
    switched, stop = threading.Event(), threading.Event()
    before: list[list[str]] = []
    after: list[list[str]] = []
    errors: list[BaseException] = []

    def search_until_stopped() -> None:
        while not stop.is_set():
            started_after_switch = switched.is_set()
            try:
                ids = [hit.record.id for hit in reader.search_images(query, K)]
            except Exception as exc:  # every failure is a finding, whatever its type
                errors.append(exc)
                continue
            (after if started_after_switch else before).append(ids)

    thread = threading.Thread(target=search_until_stopped)
    thread.start()
    try:
        report = reindex(library, starter_pack, new_pack)
        switched.set()
        _wait_for(lambda: len(after) >= 20)
    finally:
        stop.set()
        thread.join(timeout=30)
        reader.close()

    assert errors == []
    assert report.switched and report.indexed == len(SAMPLES) and not report.missing
    # Same models, so every answer, from either index, is the full top-k in the same order.
    assert before and all(ids == expected for ids in before + after)
    with pytest.raises(ModelMismatchError):
        open_store(library, starter_pack.info)
    renamed = open_store(library, new_pack.info)
    try:
        assert live_version(library, renamed).endswith("-v2")
        assert renamed.count() == len(SAMPLES)
        assert [hit.record.id for hit in renamed.search_images(query, K)] == expected
    finally:
        renamed.close()


@pytest.mark.parametrize("library_settings", ["lancedb"], indirect=True)
def test_lance_switch_points_new_readers_at_the_new_store_and_keeps_the_old(
    library: Settings, starter_pack: StarterPack
) -> None:
    # Readers open when the symlink flips may fail for up to the store's read-consistency interval
    # (their cached table versions name files of the old folder): restart them with the new pack.
    new_pack = RenamedPack.of(starter_pack)
    report = reindex(library, starter_pack, new_pack)
    assert report.switched and report.replaced == [str(library.db / "lance-v1")]
    assert (library.db / "lance").is_symlink() and lance_versions.current_version(library.db) == 2
    store = open_store(library, new_pack.info)
    try:
        assert store.count() == len(SAMPLES)
    finally:
        store.close()
    old = LanceStore(library.db / "lance-v1", starter_pack.info)  # kept whole, for a rollback
    assert old.count() == len(SAMPLES)

    report = reindex(library, new_pack, RenamedPack.of(starter_pack, "starter-renamed-v3"))
    assert report.switched and report.replaced == [str(library.db / "lance-v2")]
    assert lance_versions.current_version(library.db) == 3


@dataclass(frozen=True)
class CrashingPack(RenamedPack):
    """Analyzes one batch, then fails as a killed run would."""

    calls: list[int] = field(default_factory=list)

    @property
    def analyzer(self) -> ImageAnalyzer:
        return self

    def analyze(self, images: Sequence[RGBImage]) -> list[Analysis]:
        if self.calls:
            raise RuntimeError("simulated crash")
        self.calls.append(1)
        return self.pack.analyzer.analyze(images)


def test_interrupted_reindex_resumes_without_switching_early(
    library: Settings, starter_pack: StarterPack
) -> None:
    new_pack = RenamedPack.of(starter_pack)
    with pytest.raises(RuntimeError, match="simulated crash"):
        reindex(library, starter_pack, CrashingPack(starter_pack, new_pack.info))
    store = open_store(library, starter_pack.info)  # still the old index, whole
    try:
        assert store.count() == len(SAMPLES)
        assert not live_version(library, store).endswith("-v2")
    finally:
        store.close()

    report = reindex(library, starter_pack, new_pack)
    assert report.switched and report.resumed == 3 and report.indexed == len(SAMPLES) - 3


def test_missing_original_blocks_the_switch_unless_dropped(
    library: Settings, starter_pack: StarterPack, tmp_path: Path
) -> None:
    new_pack = RenamedPack.of(starter_pack)
    gone = next((tmp_path / "photos").glob("*chelsea*"))
    gone.unlink()
    report = reindex(library, starter_pack, new_pack)
    assert not report.switched and [path for path, _ in report.missing.values()] == [str(gone.resolve())]
    open_store(library, starter_pack.info).close()  # the old index still serves the old pack

    report = reindex(library, starter_pack, new_pack, drop_missing=True)
    assert report.switched and report.resumed == len(SAMPLES) - 1 and report.indexed == 0
    store = open_store(library, new_pack.info)
    try:
        assert store.count() == len(SAMPLES) - 1
    finally:
        store.close()


def test_a_run_that_does_not_reach_every_image_does_not_switch(
    library: Settings, starter_pack: StarterPack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stands for images added faster than the passes copy them: the switch would drop them."""
    monkeypatch.setattr("pixseek.index.reindex.MAX_PASSES", 0)
    report = reindex(library, starter_pack, RenamedPack.of(starter_pack))
    assert not report.switched and report.not_copied == len(SAMPLES)
    store = open_store(library, starter_pack.info)  # the old index, whole
    try:
        assert store.count() == len(SAMPLES)
    finally:
        store.close()


@pytest.mark.parametrize("library_settings", ["lancedb"], indirect=True)
def test_a_batch_size_below_one_is_refused(library: Settings, starter_pack: StarterPack) -> None:
    source = open_store(library, starter_pack.info)
    target = open_target(library, source, starter_pack.info)
    try:
        with pytest.raises(ValueError, match="batch size must be at least 1"):
            Reindexer(source, target, starter_pack, library.max_image_pixels, batch_size=0)
    finally:
        source.close()
        target.close()


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
