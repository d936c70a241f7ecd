"""The in-process ONNX Runtime pack over exported directories: no torch, settings from the manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pixseek.config import Settings
from pixseek.models.loader import load_pack
from pixseek.models.onnx_pack import OnnxModelPack, load_onnx_pack
from pixseek.models.onnx_session import OnnxGraphRunner
from pixseek.models.pack_manifest import MANIFEST_FILE, PACK_FILE
from pixseek.models.protocols import ModelPack

pytestmark = pytest.mark.export

# Random-weight detectors score everything near zero: a zero floor still yields boxes to embed.
SETTINGS = Settings(
    min_detection_confidence=0.0, max_objects_per_image=3, onnx_providers="cpu", onnx_engine="onnxruntime"
)


def photo(seed: int, height: int = 360, width: int = 480) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def pack(mobileclip_pack: Path) -> OnnxModelPack:
    return load_onnx_pack(mobileclip_pack, SETTINGS)


def test_the_runtime_loads_a_pack_without_torch(mobileclip_pack: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pixseek.config import Settings\n"
        "from pixseek.models.loader import load_pack\n"
        "pack = load_pack(Settings(models=sys.argv[1], onnx_providers='cpu'))\n"
        "pack.warmup()\n"
        "heavy = sorted({'torch', 'open_clip', 'ultralytics', 'timm'} & set(sys.modules))\n"
        "print(pack.info.model_id, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(mobileclip_pack)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    model_id, heavy = done.stdout.split(" ", 1)
    assert model_id.startswith("mobileclip2-s2+yolo11s@") and heavy.strip() == "[]"


def test_pack_follows_the_model_protocols(pack: OnnxModelPack) -> None:
    assert isinstance(pack, ModelPack)
    assert pack.info.dim == pack.image_embedder.dim == pack.text_embedder.dim == 512
    assert pack.info.class_names[0] == "person"


def test_vectors_are_unit_length_and_deterministic(pack: OnnxModelPack) -> None:
    texts = pack.text_embedder.embed_texts(["a cat", "a red car on a highway"])
    images = pack.image_embedder.embed_images([photo(1), photo(2, 200, 640)])
    for vectors in (texts, images):
        assert vectors.shape == (2, 512) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(pack.text_embedder.embed_texts(["a cat"])[0], texts[0], atol=1e-5)


def test_analyze_detects_crops_and_embeds_each_object(pack: OnnxModelPack) -> None:
    image = photo(3)
    (analysis,) = pack.analyzer.analyze([image])
    assert 1 <= len(analysis.detections) <= 3
    assert analysis.object_vectors.shape == (len(analysis.detections), 512)
    for detection in analysis.detections:
        box = detection.box
        assert 0 <= box.x1 <= box.x2 <= image.shape[1] and 0 <= box.y1 <= box.y2 <= image.shape[0]
    np.testing.assert_allclose(analysis.image_vector, pack.image_embedder.embed_images([image])[0], atol=1e-5)


def test_loader_picks_the_onnx_pack_for_a_directory(mobileclip_pack: Path) -> None:
    loaded = load_pack(Settings(models=str(mobileclip_pack), onnx_providers="cpu"))
    assert isinstance(loaded, OnnxModelPack)


def test_end_to_end_detector_output_runs_through_the_same_pack(end_to_end_pack: Path) -> None:
    pack = load_onnx_pack(end_to_end_pack, SETTINGS)
    (analysis,) = pack.analyzer.analyze([photo(4)])
    assert 1 <= len(analysis.detections) <= 3
    assert analysis.object_vectors.shape == (len(analysis.detections), pack.info.dim)


def edited_copy(pack_dir: Path, target: Path, part: str, change: dict[str, object]) -> Path:
    """A copy of the pack (graphs linked, not copied) with `change` merged into one manifest."""
    for source in pack_dir.rglob("*"):
        if source.is_file():
            destination = target / source.relative_to(pack_dir)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".json":
                destination.write_bytes(source.read_bytes())
            else:
                os.symlink(source, destination)
    manifest_path = target / part / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    for dotted, value in change.items():
        node = manifest
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    manifest_path.write_text(json.dumps(manifest))
    assert (target / PACK_FILE).is_file()
    return target


def record_inputs(monkeypatch: pytest.MonkeyPatch, runner: OnnxGraphRunner, into: list[np.ndarray]) -> None:
    original = runner.run

    def recording(batch: np.ndarray) -> np.ndarray:
        into.append(batch)
        return original(batch)

    monkeypatch.setattr(runner, "run", recording)


def test_normalization_comes_from_the_manifest(
    pack: OnnxModelPack, mobileclip_pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = {"image.mean": [0.5, 0.25, 0.0], "image.std": [0.5, 0.5, 1.0]}
    edited = load_onnx_pack(edited_copy(mobileclip_pack, tmp_path / "p", "embedder", change), SETTINGS)
    image = photo(5)
    inputs: list[np.ndarray] = []
    for candidate in (pack, edited):
        record_inputs(monkeypatch, candidate.image_embedder.encoder, inputs)
        candidate.image_embedder.embed_images([image])
    original, edited_input = inputs[0][0], inputs[1][0]
    # (x - mean) / std per channel, x in 0..1 as the original (mean 0, std 1) input holds it.
    np.testing.assert_allclose(edited_input[0], (original[0] - 0.5) / 0.5, atol=1e-5)
    np.testing.assert_allclose(edited_input[1], (original[1] - 0.25) / 0.5, atol=1e-5)
    np.testing.assert_allclose(edited_input[2], original[2], atol=1e-5)


def test_sizes_and_context_length_come_from_the_manifest(mobileclip_pack: Path, tmp_path: Path) -> None:
    change = {"image.size": 224, "image.resize_mode": "squash", "tokenizer.context_length": 32}
    edited = load_onnx_pack(edited_copy(mobileclip_pack, tmp_path / "p", "embedder", change), SETTINGS)
    assert edited.image_embedder.spec.size == 224 and edited.image_embedder.spec.resize_mode == "squash"
    assert edited.text_embedder.tokenizer(["a cat"]).shape == (1, 32)
    # The graph was exported for 256 px: ONNX Runtime now refuses the 224 px input the manifest asks for.
    with pytest.raises(Exception, match=r"224|[Dd]imension"):
        edited.image_embedder.embed_images([photo(6)])


def test_detector_input_size_comes_from_the_manifest(mobileclip_pack: Path, tmp_path: Path) -> None:
    # YOLO graphs take any multiple of 32: a 320 px manifest runs on the same file.
    edited = load_onnx_pack(
        edited_copy(mobileclip_pack, tmp_path / "p", "detector", {"input.width": 320, "input.height": 320}),
        SETTINGS,
    )
    raw = edited.detector.graph.run(np.zeros((1, 3, 320, 320), dtype=np.float32))
    assert raw.shape == (1, 84, 2100)  # 40² + 20² + 10² anchors at strides 8, 16, 32
    assert len(edited.detector.detect([photo(7)])[0]) == 3


def intra_op_threads(runner: OnnxGraphRunner) -> int:
    return int(runner.session.get_session_options().intra_op_num_threads)


def test_onnx_threads_reach_every_session(pack: OnnxModelPack, mobileclip_pack: Path) -> None:
    one = load_onnx_pack(mobileclip_pack, SETTINGS.model_copy(update={"onnx_threads": 1}))
    runners = (one.image_embedder.encoder, one.text_embedder.encoder, one.detector.graph)
    assert [intra_op_threads(r) for r in runners] == [1, 1, 1]
    default = {intra_op_threads(r) for r in (pack.image_embedder.encoder, pack.detector.graph)}
    assert default == {len(os.sched_getaffinity(0))}
