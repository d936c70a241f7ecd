"""`pixseek models quantize`: an int8 copy of a pack that runs like the original, close to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixseek.cli.main import main
from pixseek.config import Settings
from pixseek.models.onnx_pack import load_onnx_pack
from pixseek.models.pack_manifest import MANIFEST_FILE, ModelPackFiles, file_sha256
from tests.production.conftest import run_export_python
from tests.production.fake_pack import write_fake_pack

SETTINGS = Settings(onnx_providers="cpu")


def test_quantize_refuses_an_existing_output_and_unknown_graphs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = write_fake_pack(tmp_path / "pack")
    (tmp_path / "taken").mkdir()
    assert main(["models", "quantize", str(pack), "--out", str(tmp_path / "taken")]) == 2
    assert "exists" in capsys.readouterr().err
    assert (
        main(["models", "quantize", str(pack), "--out", str(tmp_path / "new"), "--graphs", "tokenizer"]) == 2
    )
    assert "cannot quantize" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@pytest.mark.export
def test_int8_pack_is_a_new_pack_whose_vectors_match_the_fp32_ones(
    export_python: Path, mobileclip_pack: Path, tmp_path: Path
) -> None:
    manifests = {p: file_sha256(p) for p in mobileclip_pack.glob(f"*/{MANIFEST_FILE}")}
    out = tmp_path / "int8"
    run_export_python(export_python, "-m", "pixseek.cli.main", "models", "quantize", str(mobileclip_pack),
                      "--out", str(out))  # fmt: skip
    assert {p: file_sha256(p) for p in manifests} == manifests  # the source pack is untouched
    files = ModelPackFiles(out)
    assert "int8" in files.embedder.exported_with["quantized"]
    assert "int8" in files.detector.exported_with["quantized"]
    assert files.image_encoder_path.name.endswith(".int8.onnx")
    assert not files.unverified_graphs()
    fp32, int8 = load_onnx_pack(mobileclip_pack, SETTINGS), load_onnx_pack(out, SETTINGS)
    assert int8.info.model_id != fp32.info.model_id  # a store never mixes the two packs' vectors
    photos = [
        np.random.default_rng(seed).integers(0, 256, (300, 400, 3), dtype=np.uint8) for seed in range(3)
    ]
    cosine = np.sum(
        fp32.image_embedder.embed_images(photos) * int8.image_embedder.embed_images(photos), axis=1
    )
    assert cosine.min() > 0.99
    assert len(int8.analyzer.analyze(photos)) == 3
    # Activations are quantized with one range per run: the int8 image encoder runs one image at a
    # time, so a query image alone gets exactly the vector it got inside an ingest batch.
    assert not files.embedder.image_encoder.batch_invariant and files.embedder.text_encoder.batch_invariant
    batch = int8.image_embedder.embed_images(photos)
    singles = np.concatenate([int8.image_embedder.embed_images([photo]) for photo in photos])
    np.testing.assert_array_equal(batch, singles)
