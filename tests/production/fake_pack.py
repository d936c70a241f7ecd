"""A pack directory with real manifests and placeholder graph files, for code that never runs them."""

from __future__ import annotations

from pathlib import Path

from pixseek.models.coco import COCO_CLASSES
from pixseek.models.pack_manifest import (
    MANIFEST_FILE,
    PACK_FILE,
    DetectorInputSpec,
    DetectorManifest,
    EmbedderManifest,
    ImageInputSpec,
    OnnxGraph,
    PackSpec,
    TokenizerSpec,
    write_spec,
)


def write_fake_pack(root: Path, dim: int = 512, image_size: int = 256, context: int = 77) -> Path:
    embedder = EmbedderManifest(
        model_id="fake-clip",
        source="test",
        weights="random",
        dim=dim,
        image=ImageInputSpec(size=image_size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)),
        image_encoder=OnnxGraph(file="image_encoder.onnx", input="images", output="embeddings", sha256="a"),
        text_encoder=OnnxGraph(file="text_encoder.onnx", input="tokens", output="embeddings", sha256="b"),
        tokenizer=TokenizerSpec(vocab_file="vocab.txt.gz", context_length=context),
        licence="test",
    )
    detector = DetectorManifest(
        model_id="fake-yolo",
        source="test",
        weights="random",
        input=DetectorInputSpec(width=640, height=640),
        graph=OnnxGraph(file="detector.onnx", input="images", output="output0", sha256="c"),
        output_format="cxcywh_class_scores",
        class_names=COCO_CLASSES,
        licence="test",
    )
    write_spec(root / PACK_FILE, PackSpec())
    write_spec(root / "embedder" / MANIFEST_FILE, embedder)
    write_spec(root / "detector" / MANIFEST_FILE, detector)
    for name in ("embedder/image_encoder.onnx", "embedder/text_encoder.onnx", "embedder/vocab.txt.gz",
                 "detector/detector.onnx"):  # fmt: skip
        (root / name).write_bytes(b"placeholder")
    return root
