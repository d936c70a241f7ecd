"""CLIP-style image and text embedders over an exported pack's ONNX encoders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixseek.models.clip_tokenizer import ClipTokenizer
from pixseek.models.graph_runner import GraphRunner
from pixseek.models.model_inputs import embedder_input
from pixseek.models.pack_manifest import EmbedderManifest
from pixseek.models.types import RGBImage, Vectors, l2_normalize


def run_batches(encoder: GraphRunner, inputs: np.ndarray, batch_invariant: bool) -> np.ndarray:
    """The encoder over `inputs`: all at once, or one at a time where a batch would change the
    outputs (a query image alone must get the vector it got inside an ingest batch)."""
    if batch_invariant or len(inputs) == 1:
        return encoder.run(inputs)
    return np.concatenate([encoder.run(inputs[n : n + 1]) for n in range(len(inputs))])


class OnnxImageEmbedder:
    def __init__(self, encoder: GraphRunner, manifest: EmbedderManifest) -> None:
        self.encoder = encoder
        self.spec = manifest.image
        self.dim = manifest.dim
        self.batch_invariant = manifest.image_encoder.batch_invariant

    def embed_images(self, images: Sequence[RGBImage]) -> Vectors:
        if not images:
            return np.empty((0, self.dim), dtype=np.float32)
        inputs = embedder_input(images, self.spec)
        return l2_normalize(run_batches(self.encoder, inputs, self.batch_invariant))


class OnnxTextEmbedder:
    def __init__(self, encoder: GraphRunner, tokenizer: ClipTokenizer, manifest: EmbedderManifest) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.dim = manifest.dim
        self.batch_invariant = manifest.text_encoder.batch_invariant

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return l2_normalize(run_batches(self.encoder, self.tokenizer(texts), self.batch_invariant))
