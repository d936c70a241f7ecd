"""Ingest and text/image/object search end to end through an exported pack in ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixseek.models.onnx_pack import load_onnx_pack
from tests.production.search_scenario import assert_sane, ingest_and_search, scenario_settings

pytestmark = pytest.mark.export


@pytest.mark.parametrize("pack_fixture", ["mobileclip_pack", "end_to_end_pack"])
def test_ingest_then_search_by_text_image_and_object(
    pack_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pack_dir: Path = request.getfixturevalue(pack_fixture)
    settings = scenario_settings(tmp_path / "db", models=str(pack_dir))
    pack = load_onnx_pack(pack_dir, settings)
    result = ingest_and_search(settings, pack, tmp_path / "photos")
    assert_sane(result, pack)
