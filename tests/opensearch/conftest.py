"""Settings per backend for whole-library tests, each OpenSearch test on its own index, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pixseek.config import Settings
from pixseek.models.protocols import Detector, ImageAnalyzer, ImageEmbedder, PackInfo, TextEmbedder
from pixseek.models.starter.pack import StarterPack
from tests.index.conftest import OPENSEARCH_URL

NEEDS_NODE = [
    pytest.mark.opensearch,
    pytest.mark.skipif(OPENSEARCH_URL is None, reason="PIXSEEK_TEST_OPENSEARCH_URL is not set"),
]
BACKENDS = ["lancedb", pytest.param("opensearch", marks=NEEDS_NODE)]


def drop_indices(index_name: str) -> None:
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[OPENSEARCH_URL])
    client.indices.delete(index=f"{index_name}-v*", ignore_unavailable=True)
    client.close()


@pytest.fixture
def index_name() -> Iterator[str]:
    """A fresh OpenSearch index (alias) name; its physical indices are deleted after the test."""
    name = f"pixseek-test-{uuid.uuid4().hex[:12]}"
    yield name
    if OPENSEARCH_URL is not None:
        drop_indices(name)


def backend_settings(backend: str, db: Path, cache_dir: Path, index_name: str) -> Settings:
    if backend == "opensearch":
        assert OPENSEARCH_URL is not None
        return Settings(db=db, cache_dir=cache_dir, store="opensearch", opensearch_url=OPENSEARCH_URL,
                        opensearch_index=index_name)  # fmt: skip
    return Settings(db=db, cache_dir=cache_dir)


@pytest.fixture(params=BACKENDS)
def library_settings(
    request: pytest.FixtureRequest, tmp_path: Path, starter_pack: StarterPack, index_name: str
) -> Settings:
    """Settings of an empty library on one backend, sharing the session's starter-pack cache."""
    cache_dir = starter_pack.image_embedder.cache_file.parent
    return backend_settings(request.param, tmp_path / "db", cache_dir, index_name)


@dataclass(frozen=True)
class RenamedPack:
    """The starter pack's models under another model id: a "new" pack whose answers are known."""

    pack: StarterPack
    info: PackInfo

    @classmethod
    def of(cls, pack: StarterPack, model_id: str = "starter-renamed-v2") -> RenamedPack:
        return cls(pack, replace(pack.info, model_id=model_id))

    @property
    def detector(self) -> Detector:
        return self.pack.detector

    @property
    def image_embedder(self) -> ImageEmbedder:
        return self.pack.image_embedder

    @property
    def text_embedder(self) -> TextEmbedder:
        return self.pack.text_embedder

    @property
    def analyzer(self) -> ImageAnalyzer:
        return self.pack.analyzer

    def warmup(self) -> None:
        self.pack.warmup()
