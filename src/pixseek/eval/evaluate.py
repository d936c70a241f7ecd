"""Embed an evaluation set with a pack's own embedders, in memory (no store), and score it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pixseek.eval.datasets import CaptionSet, LabeledSet
from pixseek.eval.metrics import caption_retrieval, classification_accuracy
from pixseek.ingest.decode import decode_image
from pixseek.models.protocols import ModelPack
from pixseek.models.types import Vectors

RECALL_KS = (1, 5, 10)
ACCURACY_KS = (1, 5)
PROMPT = "a photo of a {}"
Progress = Callable[[int], None]  # called with the number of items just embedded


def embed_image_files(
    pack: ModelPack, paths: Sequence[Path], max_pixels: int, batch_size: int, progress: Progress | None = None
) -> Vectors:
    """Whole-image vectors, decoded exactly as ingest decodes (EXIF orientation, RGB)."""
    batches = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        images = [decode_image(path.read_bytes(), max_pixels).rgb for path in chunk]
        batches.append(pack.image_embedder.embed_images(images))
        if progress:
            progress(len(chunk))
    return np.concatenate(batches) if batches else np.zeros((0, pack.info.dim), np.float32)


def embed_texts(
    pack: ModelPack, texts: Sequence[str], batch_size: int, progress: Progress | None = None
) -> Vectors:
    batches = []
    for start in range(0, len(texts), batch_size):
        batches.append(pack.text_embedder.embed_texts(list(texts[start : start + batch_size])))
        if progress:
            progress(len(batches[-1]))
    return np.concatenate(batches) if batches else np.zeros((0, pack.info.dim), np.float32)


def as_percent(scores: dict[int, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}{k}": round(100.0 * value, 2) for k, value in scores.items()}


def evaluate_captions(
    pack: ModelPack, data: CaptionSet, max_pixels: int, batch_size: int = 32, progress: Progress | None = None
) -> dict[str, Any]:
    """Text->image and image->text recall@1/5/10, in percent."""
    images = embed_image_files(pack, data.images, max_pixels, batch_size, progress)
    captions = embed_texts(pack, data.captions, batch_size, progress)
    recall = caption_retrieval(images, captions, np.asarray(data.caption_image), RECALL_KS)
    return {
        "images": len(data.images),
        "captions": len(data.captions),
        **{direction: as_percent(scores, "R@") for direction, scores in recall.items()},
    }


def evaluate_zero_shot(
    pack: ModelPack,
    data: LabeledSet,
    max_pixels: int,
    batch_size: int = 32,
    prompt: str = PROMPT,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Top-1/top-5 accuracy of classifying each image by its nearest class prompt, in percent."""
    images = embed_image_files(pack, data.images, max_pixels, batch_size, progress)
    prompts = embed_texts(pack, [prompt.format(name) for name in data.class_names], batch_size)
    accuracy = classification_accuracy(images, prompts, np.asarray(data.labels), ACCURACY_KS)
    return {"images": len(data.images), "classes": len(data.class_names), **as_percent(accuracy, "top")}
