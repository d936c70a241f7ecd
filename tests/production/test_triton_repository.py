"""`pixseek triton repo` and `trt-build` planning, checked on the files they write (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pixseek.cli.main import main
from pixseek.models.pack_manifest import ModelPackFiles
from pixseek.triton import names
from pixseek.triton.repository import RepositoryOptions, write_repository
from pixseek.triton.tensorrt import PROFILES_FILE, plan_specs
from tests.production.fake_pack import write_fake_pack

ALL_MODELS = {names.IMAGE_ENCODER, names.TEXT_ENCODER, names.DETECTOR, names.PREPROCESS, names.BOX_EMBED,
              names.ENSEMBLE}  # fmt: skip


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    return write_fake_pack(tmp_path / "pack", dim=384, image_size=224, context=32)


def config(repo: Path, model: str) -> str:
    return (repo / model / "config.pbtxt").read_text()


def test_python_flavour_runs_every_graph_in_python_models(pack: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    assert set(write_repository(pack, repo, RepositoryOptions(flavour="python"))) == ALL_MODELS
    for model in (names.IMAGE_ENCODER, names.TEXT_ENCODER, names.DETECTOR):
        assert 'backend: "python"' in config(repo, model)
        assert (repo / model / "1" / "model.onnx").is_file() and (repo / model / "1" / "model.py").is_file()
    # Shapes come from the manifests.
    assert "dims: [ 3, 224, 224 ]" in config(repo, names.IMAGE_ENCODER)
    assert "dims: [ 32 ]" in config(repo, names.TEXT_ENCODER) and "dims: [ 384 ]" in config(
        repo, names.TEXT_ENCODER
    )
    assert "dynamic_batching" in config(repo, names.IMAGE_ENCODER)
    for model in (names.PREPROCESS, names.BOX_EMBED):
        files = {path.name for path in (repo / model / "1").iterdir()}
        assert files == {"model.py", names.PACK_SPEC_FILE, names.EMBEDDER_MANIFEST_FILE,
                         names.DETECTOR_MANIFEST_FILE}  # fmt: skip


def test_ensemble_wires_four_steps_and_names_its_pack(pack: Path, tmp_path: Path) -> None:
    write_repository(pack, tmp_path / "repo", RepositoryOptions())
    text = config(tmp_path / "repo", names.ENSEMBLE)
    assert 'platform: "ensemble"' in text
    assert text.count("model_name:") == 4
    for output in (names.NUM_DETS, names.DET_BOXES, names.DET_SCORES, names.DET_CLASSES,
                   names.GLOBAL_EMBEDDINGS, names.BOX_EMBEDDINGS):  # fmt: skip
        assert f'name: "{output}"' in text
    assert ModelPackFiles(pack).model_id in text


def test_gpu_flavour_uses_onnxruntime_or_the_given_tensorrt_plans(pack: Path, tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / f"{names.IMAGE_ENCODER}.plan").write_bytes(b"engine")
    repo = tmp_path / "repo"
    write_repository(pack, repo, RepositoryOptions(flavour="gpu", plans=plans))
    assert 'platform: "tensorrt_plan"' in config(repo, names.IMAGE_ENCODER)
    assert (repo / names.IMAGE_ENCODER / "1" / "model.plan").read_bytes() == b"engine"
    for model in (names.TEXT_ENCODER, names.DETECTOR):
        assert 'platform: "onnxruntime_onnx"' in config(repo, model)
        assert "KIND_GPU" in config(repo, model)
    assert 'backend: "python"' in config(repo, names.BOX_EMBED)


def test_tensorrt_profiles_cover_the_planned_batch_ranges(pack: Path) -> None:
    specs = {spec.model: spec for spec in plan_specs(ModelPackFiles(pack))}
    image, text = specs[names.IMAGE_ENCODER], specs[names.TEXT_ENCODER]
    assert (image.min_batch, image.max_batch, text.min_batch, text.max_batch) == (1, 128, 1, 64)
    args = image.trtexec_args(Path("x.plan"), fp16=True, workspace_mib=1024)
    assert "--minShapes=images:1x3x224x224" in args and "--maxShapes=images:128x3x224x224" in args
    assert "--fp16" in args
    assert "--maxShapes=tokens:64x32" in text.trtexec_args(Path("y.plan"), fp16=True, workspace_mib=1024)


def test_cli_writes_a_repository(pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triton", "repo", "--pack", str(pack), "--out", str(tmp_path / "repo")]) == 0
    assert names.ENSEMBLE in capsys.readouterr().out


def test_cli_reports_a_missing_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["triton", "repo", "--pack", str(tmp_path), "--out", str(tmp_path / "repo")]) == 2
    assert "not an exported pixseek model pack" in capsys.readouterr().err


def test_cli_refuses_batches_that_triton_would_not_load(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = ["triton", "repo", "--pack", str(pack), "--out", str(tmp_path / "repo"), "--flavour", "gpu"]
    assert main([*repo, "--max-batch", "200"]) == 2
    assert "image encoder's 128" in capsys.readouterr().err
    plans = tmp_path / "plans"
    plans.mkdir()
    assert main([*repo, "--plans", str(plans), "--max-batch", "64"]) == 2  # the default detector plan: 32
    assert "trt-build --max-batch 64" in capsys.readouterr().err
    (plans / PROFILES_FILE).write_text(json.dumps({names.DETECTOR: 64}))  # as trt-build --max-batch 64
    assert main([*repo, "--plans", str(plans), "--max-batch", "64", "--max-image-pixels", "1000000"]) == 0
    assert "max_batch_size: 64" in config(tmp_path / "repo", names.DETECTOR)
    assert '"1000000"' in config(tmp_path / "repo", names.PREPROCESS)
