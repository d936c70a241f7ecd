"""all-MiniLM-L6-v2 sentence embeddings without torch: the BERT forward pass in numpy.

Matches sentence-transformers: BERT (post-LayerNorm, erf GELU), mean pooling over the attention mask,
L2 normalization. Weights come from the shipped safetensors, tokens from the shipped tokenizer.json.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from pixseek.models.starter.assets import MINILM_MODEL
from pixseek.models.types import Vectors, l2_normalize

TEXT_EMBEDDER_ID = "all-minilm-l6-v2"
Array = npt.NDArray[np.float32]


def erf(x: Array) -> Array:
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), as numpy has none."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def gelu(x: Array) -> Array:
    """BERT's exact GELU, x * Phi(x), not the tanh approximation."""
    return (0.5 * x * (1.0 + erf(x * np.float32(1.0 / np.sqrt(2.0))))).astype(np.float32)


def layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return (centred / np.sqrt(variance + np.float32(eps)) * weight + bias).astype(np.float32)


def softmax(x: Array) -> Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class _Layer:
    qkv_weight: Array  # (hidden, 3 * hidden): query, key and value in one matmul
    qkv_bias: Array
    attn_out_weight: Array
    attn_out_bias: Array
    attn_norm: tuple[Array, Array]
    ffn_in_weight: Array
    ffn_in_bias: Array
    ffn_out_weight: Array
    ffn_out_bias: Array
    ffn_norm: tuple[Array, Array]


@dataclass(frozen=True)
class _Weights:
    word: Array
    position: Array
    token_type: Array
    embedding_norm: tuple[Array, Array]
    layers: tuple[_Layer, ...]


def _load_weights(tensors: dict[str, np.ndarray]) -> _Weights:
    def get(name: str) -> Array:
        return np.ascontiguousarray(tensors[name], dtype=np.float32)

    def linear(name: str) -> tuple[Array, Array]:
        # torch Linear stores (out, in); keep (in, out) so activations multiply on the left.
        return np.ascontiguousarray(get(f"{name}.weight").T), get(f"{name}.bias")

    def norm(name: str) -> tuple[Array, Array]:
        return get(f"{name}.weight"), get(f"{name}.bias")

    layers = []
    index = 0
    while f"encoder.layer.{index}.attention.self.query.weight" in tensors:
        prefix = f"encoder.layer.{index}"
        q, k, v = (linear(f"{prefix}.attention.self.{part}") for part in ("query", "key", "value"))
        layers.append(
            _Layer(
                np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1)),
                np.concatenate([q[1], k[1], v[1]]),
                *linear(f"{prefix}.attention.output.dense"),
                norm(f"{prefix}.attention.output.LayerNorm"),
                *linear(f"{prefix}.intermediate.dense"),
                *linear(f"{prefix}.output.dense"),
                norm(f"{prefix}.output.LayerNorm"),
            )
        )
        index += 1
    return _Weights(
        get("embeddings.word_embeddings.weight"),
        get("embeddings.position_embeddings.weight"),
        get("embeddings.token_type_embeddings.weight"),
        norm("embeddings.LayerNorm"),
        tuple(layers),
    )


class MiniLmEmbedder:
    """TextEmbedder: L2-normalized (n, 384) float32. Weights are loaded on first use."""

    def __init__(self, batch_size: int = 32) -> None:
        config = json.loads(MINILM_MODEL.file("config.json").read_text(encoding="utf-8"))
        st_config = json.loads(MINILM_MODEL.file("sentence_bert_config.json").read_text(encoding="utf-8"))
        self.dim: int = int(config["hidden_size"])
        self.max_length: int = int(st_config["max_seq_length"])  # 256; tokenizer.json says 128
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self._batch_size = batch_size
        self._tokenizer_file = MINILM_MODEL.file("tokenizer.json")
        self._weights_file = MINILM_MODEL.file("model.safetensors")
        self._tokenizer: Tokenizer | None = None
        self._weights: _Weights | None = None
        self._lock = threading.Lock()

    def load(self) -> tuple[Tokenizer, _Weights]:
        with self._lock:
            if self._tokenizer is None or self._weights is None:
                tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
                tokenizer.enable_truncation(max_length=self.max_length)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of a batch
                self._weights = _load_weights(load_file(str(self._weights_file)))
                self._tokenizer = tokenizer
            return self._tokenizer, self._weights

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        tokenizer, weights = self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Batches of similar length waste little work on padding (which never changes a result).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            encodings = tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
            out[chunk] = self._forward(weights, ids, mask)
        return out

    def _forward(self, w: _Weights, ids: npt.NDArray[np.int64], mask: Array) -> Vectors:
        batch, length = ids.shape
        heads, head_dim = self._heads, self.dim // self._heads
        # Token type is always 0: one sentence per input. Rows are kept 2-D (batch * length, dim):
        # numpy runs a 2-D matmul as one BLAS call but a 3-D one as a loop of small ones.
        x = (w.word[ids] + w.position[:length] + w.token_type[0]).reshape(batch * length, self.dim)
        x = layer_norm(x, *w.embedding_norm, self._eps)
        # Padding keys get a large negative score, so they take no attention.
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, np.newaxis, np.newaxis, :]
        scale = np.float32(1.0 / np.sqrt(head_dim))
        for layer in w.layers:
            qkv = (x @ layer.qkv_weight + layer.qkv_bias).reshape(batch, length, 3, heads, head_dim)
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (batch, heads, length, head_dim)
            attention = softmax((q @ k.transpose(0, 1, 3, 2)) * scale + key_bias)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch * length, self.dim)
            attended = context @ layer.attn_out_weight + layer.attn_out_bias
            x = layer_norm(attended + x, *layer.attn_norm, self._eps)
            hidden = gelu(x @ layer.ffn_in_weight + layer.ffn_in_bias)
            x = layer_norm(hidden @ layer.ffn_out_weight + layer.ffn_out_bias + x, *layer.ffn_norm, self._eps)
        tokens = x.reshape(batch, length, self.dim)
        summed = (tokens * mask[:, :, np.newaxis]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return l2_normalize(pooled)
