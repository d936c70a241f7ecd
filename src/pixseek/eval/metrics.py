"""Retrieval metrics over similarity matrices, as CLIP-style papers report them.

A query is answered correctly at k when one of its relevant items is among its k best-scoring items.
Ties count against the query: a relevant item shares its rank with every irrelevant item scoring as
high, so a constant embedding scores no better than chance would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

Ranks = npt.NDArray[np.int64]
# Query rows per similarity block: bounds memory for sets like COCO's 25,000 captions x 5,000 images.
QUERY_BLOCK = 1024


def best_relevant_rank(similarity: npt.NDArray[np.floating], relevant: npt.NDArray[np.bool_]) -> Ranks:
    """Per query row, the 0-based rank of its best relevant item: how many irrelevant items score at
    least as high. Every row must have at least one relevant item."""
    if similarity.shape != relevant.shape:
        raise ValueError(f"similarity {similarity.shape} and relevant {relevant.shape} differ in shape")
    if not relevant.any(axis=1).all():
        raise ValueError("every query needs at least one relevant item")
    best = np.where(relevant, similarity, -np.inf).max(axis=1, keepdims=True)
    return ((similarity >= best) & ~relevant).sum(axis=1).astype(np.int64)


def recall_at(ranks: Ranks, ks: Iterable[int]) -> dict[int, float]:
    """Share of queries whose best relevant item ranks within the top k, per k."""
    return {k: float(np.mean(ranks < k)) if len(ranks) else 0.0 for k in ks}


def ranks_by_owner(
    queries: np.ndarray, items: np.ndarray, relevant_owner: np.ndarray, owner_of: str
) -> Ranks:
    """Best relevant ranks of every query by cosine (unit vectors), in blocks of queries.

    `relevant_owner` links queries and items: with `owner_of="item"` item j is relevant to query q
    when relevant_owner[j] == q (an image query and its captions); with `owner_of="query"` item j is
    relevant when j == relevant_owner[q] (a caption query and its image, an image and its class).
    """
    ranks = []
    for start in range(0, len(queries), QUERY_BLOCK):
        block = np.arange(start, min(start + QUERY_BLOCK, len(queries)))
        similarity = queries[block] @ items.T
        if owner_of == "item":
            relevant = relevant_owner[np.newaxis, :] == block[:, np.newaxis]
        else:
            relevant = np.arange(len(items))[np.newaxis, :] == relevant_owner[block][:, np.newaxis]
        ranks.append(best_relevant_rank(similarity, relevant))
    return np.concatenate(ranks) if ranks else np.zeros(0, dtype=np.int64)


def caption_retrieval(
    image_vectors: np.ndarray, caption_vectors: np.ndarray, caption_image: np.ndarray, ks: Sequence[int]
) -> dict[str, dict[int, float]]:
    """Text->image (each caption a query, its image the one relevant item) and image->text (an image
    query is correct when any of its captions ranks within k) recall@k."""
    return {
        "text_to_image": recall_at(
            ranks_by_owner(caption_vectors, image_vectors, caption_image, "query"), ks
        ),
        "image_to_text": recall_at(ranks_by_owner(image_vectors, caption_vectors, caption_image, "item"), ks),
    }


def classification_accuracy(
    image_vectors: np.ndarray, class_vectors: np.ndarray, labels: np.ndarray, ks: Sequence[int]
) -> dict[int, float]:
    """Zero-shot top-k accuracy: the image's class among the k classes whose prompts score highest."""
    return recall_at(ranks_by_owner(image_vectors, class_vectors, labels, "query"), ks)
