"""The ModelPack of an exported pack directory, run in-process by ONNX Runtime or OpenVINO (no torch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from pixseek.config import Settings
from pixseek.models.clip_tokenizer import ClipTokenizer
from pixseek.models.compose import ComposedAnalyzer
from pixseek.models.engine_choice import choose_engine, open_graph
from pixseek.models.graph_runner import GraphRunner
from pixseek.models.onnx_clip import OnnxImageEmbedder, OnnxTextEmbedder
from pixseek.models.onnx_session import Provider, resolve_providers
from pixseek.models.onnx_yolo import OnnxYoloDetector
from pixseek.models.pack_manifest import ModelPackFiles, OnnxGraph
from pixseek.models.protocols import PackInfo

GRAPH_ROLES = ("image_encoder", "text_encoder", "detector")


def pack_info(files: ModelPackFiles, **extra: str) -> PackInfo:
    """Identity shared by every backend that serves this pack (in-process or Triton)."""
    embedder, detector = files.embedder, files.detector
    return PackInfo(
        model_id=files.model_id,
        dim=embedder.dim,
        detector_id=detector.model_id,
        embedder_id=embedder.model_id,
        licence=f"{embedder.model_id}: {embedder.licence}; {detector.model_id}: {detector.licence}",
        class_names=detector.class_names,
        extra={"embedder_weights": embedder.weights, "detector_weights": detector.weights, **extra},
    )


def tokenizer_for(files: ModelPackFiles) -> ClipTokenizer:
    spec = files.embedder.tokenizer
    return ClipTokenizer(files.vocab_path, spec.context_length, lowercase=spec.clean == "lower")


class OnnxModelPack:
    def __init__(
        self,
        files: ModelPackFiles,
        settings: Settings,
        providers: Mapping[str, Sequence[Provider]] | None = None,
    ) -> None:
        """`providers` may give a graph ('image_encoder', 'text_encoder', 'detector') its own ONNX
        Runtime providers instead of `settings.onnx_providers` (benchmarks: TensorRT profiles).
        `settings.onnx_engine` picks ONNX Runtime or OpenVINO per graph (`engine_choice`)."""
        default = resolve_providers(settings.onnx_providers)
        chosen = {role: (providers or {}).get(role, default) for role in GRAPH_ROLES}
        engines = {role: choose_engine(settings.onnx_engine, chosen[role]) for role in GRAPH_ROLES}
        embedder = files.embedder

        def runner(role: str, path: Path, graph: OnnxGraph) -> GraphRunner:
            return open_graph(
                engines[role], path, graph.input, graph.output, chosen[role], settings.onnx_threads or None
            )

        image_encoder = runner("image_encoder", files.image_encoder_path, embedder.image_encoder)
        text_encoder = runner("text_encoder", files.text_encoder_path, embedder.text_encoder)
        detector_graph = runner("detector", files.detector_path, files.detector.graph)
        self.files = files
        self.image_embedder = OnnxImageEmbedder(image_encoder, embedder)
        self.text_embedder = OnnxTextEmbedder(text_encoder, tokenizer_for(files), embedder)
        self.detector = OnnxYoloDetector(
            detector_graph,
            files.detector,
            min_confidence=settings.min_detection_confidence,
            max_detections=settings.max_objects_per_image,
        )
        self.analyzer = ComposedAnalyzer(
            self.detector,
            self.image_embedder,
            context_pad=files.spec.object_context_pad,
            max_objects=settings.max_objects_per_image,
            min_confidence=settings.min_detection_confidence,
        )
        self.info = pack_info(
            files, inference=engines["image_encoder"], providers=",".join(image_encoder.providers)
        )

    def warmup(self) -> None:
        image = np.full((64, 96, 3), 127, dtype=np.uint8)
        self.analyzer.analyze([image])
        self.text_embedder.embed_texts(["warm up"])


def load_onnx_pack(path: Path, settings: Settings) -> OnnxModelPack:
    """Load an exported pack directory (see `pixseek.models.pack_manifest` for its layout)."""
    return OnnxModelPack(ModelPackFiles(path), settings)
