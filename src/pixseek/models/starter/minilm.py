"""all-MiniLM-L6-v2 sentence embeddings without torch: its BERT encoder run by ONNX Runtime.

Matches sentence-transformers: BERT (`bert_graph`), mean pooling over the attention mask, L2
normalization. Weights come from the shipped safetensors, tokens from the shipped tokenizer.json.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from pixseek.models.starter.assets import MINILM_MODEL
from pixseek.models.starter.bert_graph import bert_encoder
from pixseek.models.types import Vectors, l2_normalize

TEXT_EMBEDDER_ID = "all-minilm-l6-v2"


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
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    def load(self) -> tuple[Tokenizer, ort.InferenceSession]:
        with self._lock:
            if self._tokenizer is None or self._session is None:
                tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
                tokenizer.enable_truncation(max_length=self.max_length)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of a batch
                graph = bert_encoder(load_file(str(self._weights_file)), self._heads, self._eps)
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # One thread per call: a query is a dozen tokens (too little work to split), and
                # concurrent API requests each run their own call.
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                self._session = ort.InferenceSession(
                    graph.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
            return self._tokenizer, self._session

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        tokenizer, session = self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Batches of similar length waste little work on padding (which never changes a result).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            encodings = tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
            # Padding keys get a large negative score, so they take no attention.
            bias = ((1.0 - mask) * np.float32(-1e9))[:, np.newaxis, np.newaxis, :]
            (tokens,) = session.run(["tokens"], {"input_ids": ids, "attention_bias": bias})
            summed = (np.asarray(tokens, dtype=np.float32) * mask[:, :, np.newaxis]).sum(axis=1)
            out[chunk] = l2_normalize(summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9))
        return out
