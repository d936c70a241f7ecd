"""Fixtures shared by the whole test-suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pixseek.models.starter.pack import StarterPack


@pytest.fixture(scope="session")
def starter_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StarterPack]:
    """The real starter pack, warmed once per session (the first warmup builds the class-vector cache)."""
    pack = StarterPack(tmp_path_factory.mktemp("model-cache"))
    pack.warmup()
    yield pack
