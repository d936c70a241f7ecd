"""A real tritonserver on a generated python-flavour repository, compared with in-process ONNX Runtime."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from pixseek.config import Settings
from pixseek.models.loader import load_pack
from pixseek.models.onnx_pack import OnnxModelPack, load_onnx_pack
from pixseek.models.types import Analysis
from pixseek.triton import names
from pixseek.triton.repository import RepositoryOptions, write_repository
from pixseek.triton.server import DEFAULT_VENV, Ports, free_ports, start, stop_process
from tests.production.conftest import require
from tests.production.search_scenario import assert_sane, ingest_and_search, scenario_settings

if TYPE_CHECKING:
    from pixseek.models.triton_pack import TritonModelPack

pytestmark = [pytest.mark.triton, pytest.mark.export]


@pytest.fixture(scope="module")
def triton(mobileclip_pack: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ports]:
    require((DEFAULT_VENV / "bin" / "python").is_file(), "no .venv-triton: run scripts/setup-triton-env.sh")
    require(importlib.util.find_spec("tritonclient") is not None, "no tritonclient: run setup-triton-env.sh")
    work = tmp_path_factory.mktemp("triton")
    write_repository(
        mobileclip_pack, work / "repo", RepositoryOptions(flavour="python", onnx_providers="cpu")
    )
    ports = free_ports()
    server = start(work / "repo", DEFAULT_VENV, work / "state", ports, ready_timeout=300)
    yield ports
    stop_process(server.pid)


def settings_for(pack_dir: Path, ports: Ports, **overrides: object) -> Settings:
    return scenario_settings(
        Path("unused"), models=str(pack_dir), inference="triton", triton_url=ports.grpc_url, **overrides
    )


@pytest.fixture(scope="module")
def served(triton: Ports, mobileclip_pack: Path) -> TritonModelPack:
    from pixseek.models.triton_pack import TritonModelPack

    pack = load_pack(settings_for(mobileclip_pack, triton))
    assert isinstance(pack, TritonModelPack)
    return pack


@pytest.fixture(scope="module")
def local(mobileclip_pack: Path, triton: Ports) -> OnnxModelPack:
    # Triton's python-backend models run ONNX Runtime: the same engine in process, for equal rankings.
    return load_onnx_pack(mobileclip_pack, settings_for(mobileclip_pack, triton, onnx_engine="onnxruntime"))


def photos() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [
        rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((360, 480, 3), (517, 301, 3), (64, 64, 3))
    ]


def assert_same_analysis(served: Analysis, local: Analysis) -> None:
    assert [(d.class_id, d.box) for d in served.detections] == [(d.class_id, d.box) for d in local.detections]
    np.testing.assert_allclose([d.confidence for d in served.detections],
                               [d.confidence for d in local.detections], rtol=1e-5)  # fmt: skip
    assert float(served.image_vector @ local.image_vector) >= 0.999
    assert served.object_vectors.shape == local.object_vectors.shape
    assert np.all((served.object_vectors * local.object_vectors).sum(axis=1) >= 0.999)


def test_every_model_and_the_ensemble_is_ready(served: TritonModelPack) -> None:
    client = served.models.client
    for model in (names.IMAGE_ENCODER, names.TEXT_ENCODER, names.DETECTOR, names.PREPROCESS,
                  names.BOX_EMBED, names.ENSEMBLE):  # fmt: skip
        assert client.is_model_ready(model), model


def test_ensemble_gives_in_process_detections_and_embeddings(
    served: TritonModelPack, local: OnnxModelPack
) -> None:
    images = photos()
    for served_one, local_one in zip(
        served.analyzer.analyze(images), local.analyzer.analyze(images), strict=True
    ):
        assert len(local_one.detections) == 3
        assert_same_analysis(served_one, local_one)


def test_text_and_image_encoders_give_in_process_vectors(
    served: TritonModelPack, local: OnnxModelPack
) -> None:
    texts = ["a cat", "a red car on a highway", "two dogs, playing!"]
    cosines = (served.text_embedder.embed_texts(texts) * local.text_embedder.embed_texts(texts)).sum(axis=1)
    assert np.all(cosines >= 0.999)
    images = photos()
    cosines = (served.image_embedder.embed_images(images) * local.image_embedder.embed_images(images)).sum(
        axis=1
    )
    assert np.all(cosines >= 0.999)


def test_no_detections_come_back_as_empty_rows(mobileclip_pack: Path, triton: Ports) -> None:
    pack = load_pack(settings_for(mobileclip_pack, triton, max_objects_per_image=0))
    (analysis,) = pack.analyzer.analyze(photos()[:1])
    assert analysis.detections == [] and analysis.object_vectors.shape == (0, pack.info.dim)


def test_a_bad_image_fails_its_request_with_a_reason(served: TritonModelPack) -> None:
    inputs = [
        (names.ENCODED_IMAGES, np.array([[b"not an image"]], dtype=np.object_), "BYTES"),
        (names.MIN_CONFIDENCE, np.zeros((1, 1), dtype=np.float32), "FP32"),
        (names.MAX_OBJECTS, np.ones((1, 1), dtype=np.int32), "INT32"),
    ]
    from tritonclient.utils import InferenceServerException

    with pytest.raises(InferenceServerException, match="not an image"):
        served.models.infer(names.ENSEMBLE, inputs, [names.NUM_DETS])


def test_concurrent_requests_are_batched_by_the_server(served: TritonModelPack) -> None:
    image = photos()[2]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: served.analyzer.analyze([image]), range(16)))
    stats = served.models.client.get_inference_statistics(as_json=True)["model_stats"]
    batched = {
        model["name"]: (int(model.get("inference_count", 0)), int(model.get("execution_count", 0)))
        for model in stats
        if model["name"] != names.ENSEMBLE
    }
    assert any(inferences > executions for inferences, executions in batched.values()), batched


def test_a_server_with_another_pack_is_refused(triton: Ports, end_to_end_pack: Path) -> None:
    from pixseek.models.triton_pack import TritonPackMismatch

    with pytest.raises(TritonPackMismatch):
        load_pack(settings_for(end_to_end_pack, triton))


def test_ingest_and_search_through_triton_match_in_process(
    served: TritonModelPack, local: OnnxModelPack, tmp_path: Path, mobileclip_pack: Path, triton: Ports
) -> None:
    through_triton = ingest_and_search(
        scenario_settings(tmp_path / "triton-db", models=str(mobileclip_pack)), served, tmp_path / "a"
    )
    in_process = ingest_and_search(
        scenario_settings(tmp_path / "local-db", models=str(mobileclip_pack)), local, tmp_path / "b"
    )
    assert_sane(through_triton, served)
    assert through_triton.model_id == in_process.model_id
    assert through_triton.image_ranking == in_process.image_ranking
    assert through_triton.text_ranking == in_process.text_ranking
    assert through_triton.object_hits == in_process.object_hits
    for name, record in through_triton.records.items():
        other = in_process.records[name]
        assert [d.box for d in record.detections] == [d.box for d in other.detections]
        assert record.vector is not None and other.vector is not None
        assert float(record.vector @ other.vector) >= 0.999
