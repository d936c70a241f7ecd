"""OpenVINO as the in-process engine of an exported pack: same vectors as ONNX Runtime, thread-safe."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pixseek.config import Settings
from pixseek.models import engine_choice, openvino_session
from pixseek.models.engine_choice import choose_engine
from pixseek.models.onnx_pack import OnnxModelPack, load_onnx_pack
from pixseek.models.onnx_session import CPU, CUDA, OnnxGraphRunner, usable_cpu_count
from pixseek.models.openvino_session import OpenVinoGraphRunner, cpu_has_bf16

pytestmark = pytest.mark.export

BASE = Settings(min_detection_confidence=0.0, max_objects_per_image=3, onnx_providers="cpu")


def photo(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, 480, dtype=np.float32)[None, :, None]
    return np.clip(base + rng.normal(0, 40, (360, 480, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def packs(mobileclip_pack: Path) -> tuple[OnnxModelPack, OnnxModelPack]:
    ort_pack = load_onnx_pack(mobileclip_pack, BASE.model_copy(update={"onnx_engine": "onnxruntime"}))
    ov_pack = load_onnx_pack(mobileclip_pack, BASE.model_copy(update={"onnx_engine": "openvino"}))
    return ort_pack, ov_pack


def rowwise_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_each_graph_runs_on_the_engine_asked_for(packs: tuple[OnnxModelPack, OnnxModelPack]) -> None:
    ort_pack, ov_pack = packs
    for runner in (ov_pack.image_embedder.encoder, ov_pack.text_embedder.encoder, ov_pack.detector.graph):
        assert isinstance(runner, OpenVinoGraphRunner)
    assert isinstance(ort_pack.detector.graph, OnnxGraphRunner)
    assert ov_pack.info.extra["inference"] == "openvino"
    assert ov_pack.info.extra["providers"] == f"OpenVINO CPU {'bf16' if cpu_has_bf16() else 'f32'}"
    assert ort_pack.info.extra["inference"] == "onnxruntime"


def test_openvino_vectors_match_onnx_runtime(packs: tuple[OnnxModelPack, OnnxModelPack]) -> None:
    ort_pack, ov_pack = packs
    images = [photo(seed) for seed in range(4)]
    image_cosines = rowwise_cosine(
        ort_pack.image_embedder.embed_images(images), ov_pack.image_embedder.embed_images(images)
    )
    texts = ["a cat on a sofa", "a red bus", "two people walking a dog"]
    text_cosines = rowwise_cosine(
        ort_pack.text_embedder.embed_texts(texts), ov_pack.text_embedder.embed_texts(texts)
    )
    assert image_cosines.min() > 0.999 and text_cosines.min() > 0.999


def test_openvino_detector_output_matches_onnx_runtime(packs: tuple[OnnxModelPack, OnnxModelPack]) -> None:
    ort_pack, ov_pack = packs
    batch = np.random.default_rng(5).random((2, 3, 640, 640), dtype=np.float32)
    reference, candidate = ort_pack.detector.graph.run(batch), ov_pack.detector.graph.run(batch)
    assert reference.shape == candidate.shape == (2, 84, 8400)
    # Boxes in 640-pixel input space within 2 px; class scores within 0.02 (bf16 keeps ~3 digits).
    assert np.abs(reference[:, :4] - candidate[:, :4]).max() < 2.0
    assert np.abs(reference[:, 4:] - candidate[:, 4:]).max() < 0.02


def test_openvino_pack_analyzes_end_to_end(end_to_end_pack: Path) -> None:
    pack = load_onnx_pack(end_to_end_pack, BASE.model_copy(update={"onnx_engine": "openvino"}))
    (analysis,) = pack.analyzer.analyze([photo(4)])
    assert 1 <= len(analysis.detections) <= 3
    assert analysis.object_vectors.shape == (len(analysis.detections), pack.info.dim)
    np.testing.assert_allclose(np.linalg.norm(analysis.object_vectors, axis=1), 1.0, atol=1e-4)


def test_concurrent_callers_each_get_their_own_results(mobileclip_pack: Path) -> None:
    pack = load_onnx_pack(
        mobileclip_pack, BASE.model_copy(update={"onnx_engine": "openvino", "onnx_threads": 1})
    )
    images = [photo(seed) for seed in range(10, 18)]
    alone = [pack.image_embedder.embed_images([image])[0] for image in images]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda image: pack.image_embedder.embed_images([image])[0], images))
    np.testing.assert_allclose(np.stack(together), np.stack(alone), atol=1e-6)
    runner = pack.image_embedder.encoder
    assert isinstance(runner, OpenVinoGraphRunner)
    assert runner._created <= 2 * usable_cpu_count()  # six callers share a bounded pool of requests


def test_threads_per_call_become_execution_streams(mobileclip_pack: Path) -> None:
    graph = mobileclip_pack / "embedder" / "image_encoder.onnx"
    cpus = usable_cpu_count()
    one = OpenVinoGraphRunner(graph, "images", "embeddings", threads=1)
    every = OpenVinoGraphRunner(graph, "images", "embeddings")
    assert (one.model.get_property("NUM_STREAMS"), one.model.get_property("INFERENCE_NUM_THREADS")) == (
        cpus,
        cpus,
    )
    assert (every.model.get_property("NUM_STREAMS"), every.model.get_property("INFERENCE_NUM_THREADS")) == (
        1,
        cpus,
    )


def test_manifest_names_are_checked_against_the_graph(mobileclip_pack: Path) -> None:
    with pytest.raises(ValueError, match="manifest names input 'pixels'"):
        OpenVinoGraphRunner(mobileclip_pack / "embedder" / "image_encoder.onnx", "pixels", "embeddings")


def test_auto_takes_openvino_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_engine("auto", [CPU]) == ("openvino" if cpu_has_bf16() else "onnxruntime")
    assert choose_engine("auto", [CUDA, CPU]) == "onnxruntime"
    assert choose_engine("onnxruntime", [CPU]) == "onnxruntime"
    assert choose_engine("openvino", [CPU]) == "openvino"
    with pytest.raises(ValueError, match="PIXSEEK_ONNX_PROVIDERS=cpu"):
        choose_engine("openvino", [CUDA, CPU])
    with pytest.raises(ValueError, match="unknown ONNX engine"):
        choose_engine("tvm", [CPU])
    monkeypatch.setattr(engine_choice, "cpu_has_bf16", lambda: False)  # a CPU without bf16 arithmetic
    assert choose_engine("auto", [CPU]) == "onnxruntime"


def test_without_openvino_auto_falls_back_and_explicit_says_what_to_install(
    mobileclip_pack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails as when it is not installed
    openvino_session.core.cache_clear()
    try:
        assert choose_engine("auto", [CPU]) == "onnxruntime"
        with pytest.raises(RuntimeError, match=r"pip install 'pixseek\[openvino\]'"):
            OpenVinoGraphRunner(mobileclip_pack / "embedder" / "image_encoder.onnx", "images", "embeddings")
    finally:
        openvino_session.core.cache_clear()
