"""CLIP-style image and text embedders over an exported pack's ONNX encoders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixseek.models.clip_tokenizer import ClipTokenizer
from pixseek.models.graph_runner import GraphRunner
from pixseek.models.model_inputs import embedder_input
from pixseek.models.pack_manifest import EmbedderManifest
from pixseek.models.types import RGBImage, Vectors, l2_normalize


class OnnxImageEmbedder:
    def __init__(self, encoder: GraphRunner, manifest: EmbedderManifest) -> None:
        self.encoder = encoder
        self.spec = manifest.image
        self.dim = manifest.dim

    def embed_images(self, images: Sequence[RGBImage]) -> Vectors:
        if not images:
            return np.empty((0, self.dim), dtype=np.float32)
        return l2_normalize(self.encoder.run(embedder_input(images, self.spec)))


class OnnxTextEmbedder:
    def __init__(self, encoder: GraphRunner, tokenizer: ClipTokenizer, manifest: EmbedderManifest) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.dim = manifest.dim

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return l2_normalize(self.encoder.run(self.tokenizer(texts)))
