"""ConSE image vectors (Norouzi et al., 2014): put an image in a text space through a classifier.

An image's vector is the probability-weighted sum of the text embeddings of its top ImageNet classes,
so text queries compare with images in the text embedder's own space.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from pixseek.models.protocols import TextEmbedder
from pixseek.models.types import RGBImage, Vectors, l2_normalize

# Bump when the way class embeddings are built changes, so old caches are not reused.
_CLASS_EMBEDDING_VERSION = "1"


class Classifier(Protocol):
    labels: tuple[str, ...]

    def classify(self, images: Sequence[RGBImage]) -> npt.NDArray[np.float32]: ...


def class_synonyms(label: str, count: int) -> list[str]:
    """First `count` synonyms of an ImageNet label line like 'tabby, tabby cat'."""
    names = [name.strip() for name in label.split(",") if name.strip()]
    return names[:count]


class ConseImageEmbedder:
    """ImageEmbedder over a classifier and a text embedder. Class embeddings are computed once per
    (label file, embedder) and cached on disk."""

    def __init__(
        self,
        classifier: Classifier,
        text_embedder: TextEmbedder,
        *,
        labels_file: Path,
        embedder_id: str,
        cache_dir: Path,
        top_k: int = 10,
        synonyms_per_class: int = 3,
    ) -> None:
        self.dim = text_embedder.dim
        self.top_k = top_k
        self._classifier = classifier
        self._text_embedder = text_embedder
        self._synonyms_per_class = synonyms_per_class
        key = hashlib.sha256(labels_file.read_bytes())
        key.update(f"|{embedder_id}|{synonyms_per_class}|{_CLASS_EMBEDDING_VERSION}".encode())
        self.cache_file = cache_dir / f"conse-class-embeddings-{key.hexdigest()[:16]}.npy"
        self._class_vectors: Vectors | None = None
        self._lock = threading.Lock()

    def embed_images(self, images: Sequence[RGBImage]) -> Vectors:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        class_vectors = self.class_vectors()
        probabilities = self._classifier.classify(images)
        top = np.argpartition(-probabilities, self.top_k - 1, axis=1)[:, : self.top_k]
        weights = np.take_along_axis(probabilities, top, axis=1)
        # (n, k) weights times (n, k, dim) class vectors, summed over k.
        vectors = np.einsum("nk,nkd->nd", weights, class_vectors[top])
        return l2_normalize(vectors)

    def class_vectors(self) -> Vectors:
        """(n_classes, dim) unit vectors, from the disk cache when there is one."""
        with self._lock:
            if self._class_vectors is None:
                self._class_vectors = self._load_or_compute()
            return self._class_vectors

    def _load_or_compute(self) -> Vectors:
        n_classes = len(self._classifier.labels)
        try:
            cached = np.load(self.cache_file)
            if cached.shape == (n_classes, self.dim):
                return np.asarray(cached, dtype=np.float32)
        except (OSError, ValueError):
            pass  # no cache yet, or an unreadable one: rebuild it
        vectors = self._compute()
        self._write_atomically(vectors)
        return vectors

    def _compute(self) -> Vectors:
        synonyms = [class_synonyms(label, self._synonyms_per_class) for label in self._classifier.labels]
        flat = [name for names in synonyms for name in names]
        embedded = self._text_embedder.embed_texts(flat)
        ends = np.cumsum([len(names) for names in synonyms])
        starts = ends - np.array([len(names) for names in synonyms])
        # Unit vectors, so each class weighs by its probability alone, not by how its synonyms agree.
        return l2_normalize(np.stack([embedded[s:e].mean(axis=0) for s, e in zip(starts, ends, strict=True)]))

    def _write_atomically(self, vectors: Vectors) -> None:
        # A reader never sees a half-written file, and concurrent writers each replace it whole.
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.cache_file.parent, suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, vectors)
            os.replace(temp, self.cache_file)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
