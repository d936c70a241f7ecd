"""Recall and accuracy against examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.eval.metrics import (
    best_relevant_rank,
    caption_retrieval,
    classification_accuracy,
    ranks_by_owner,
    recall_at,
)


def test_best_relevant_rank_counts_irrelevant_items_scoring_at_least_as_high() -> None:
    similarity = np.array(
        [
            [0.9, 0.1, 0.5],  # relevant item 1 (0.1): items 0 and 2 score higher -> rank 2
            [0.2, 0.8, 0.3],  # relevant items 0 (0.2) and 2 (0.3): best is 0.3, item 1 higher -> rank 1
            [0.4, 0.4, 0.1],  # relevant item 1 (0.4) ties with irrelevant item 0 -> the tie counts: rank 1
            [0.7, 0.6, 0.5],  # relevant item 0 is the best -> rank 0
        ]
    )
    relevant = np.array(
        [[False, True, False], [True, False, True], [False, True, False], [True, False, False]]
    )
    assert best_relevant_rank(similarity, relevant).tolist() == [2, 1, 1, 0]


def test_recall_at_k_is_the_share_of_queries_ranked_within_k() -> None:
    ranks = np.array([2, 1, 1, 0])
    # k=1: only rank 0 (1 of 4); k=2: ranks 0, 1, 1 (3 of 4); k=3: all four.
    assert recall_at(ranks, (1, 2, 3)) == {1: 0.25, 2: 0.75, 3: 1.0}


def test_caption_retrieval_by_hand() -> None:
    # Three images (unit vectors e0, e1, e2) and four captions: captions 0 and 1 belong to image 0,
    # caption 2 to image 1, caption 3 to image 2.
    images = np.eye(3, dtype=np.float32)
    captions = np.array(
        [
            [1.0, 0.0, 0.0],  # caption 0 -> scores (1, 0, 0): its image 0 first, rank 0
            [0.0, 0.8, 0.6],  # caption 1 -> (0, .8, .6): image 0 is last, rank 2
            [0.0, 0.6, 0.8],  # caption 2 -> (0, .6, .8): image 1 behind image 2, rank 1
            [0.0, 0.0, 1.0],  # caption 3 -> (0, 0, 1): image 2 first, rank 0
        ],
        dtype=np.float32,
    )
    owners = np.array([0, 0, 1, 2])
    # text->image ranks (0, 2, 1, 0): R@1 = 2/4, R@2 = 3/4, R@3 = 4/4.
    # image->text: image 0 scores captions (1, 0, 0, 0): its caption 0 is first, rank 0.
    #   image 1 scores (0, .8, .6, 0): its caption 2 (.6) trails caption 1 (.8), rank 1.
    #   image 2 scores (0, .6, .8, 1): its caption 3 (1) is first, rank 0.
    #   R@1 = 2/3, R@2 = 3/3.
    recall = caption_retrieval(images, captions, owners, (1, 2, 3))
    assert recall["text_to_image"] == {1: 0.5, 2: 0.75, 3: 1.0}
    assert recall["image_to_text"] == pytest.approx({1: 2 / 3, 2: 1.0, 3: 1.0})


def test_image_query_counts_when_any_of_its_captions_ranks() -> None:
    images = np.eye(2, dtype=np.float32)
    # Image 0 has captions 0 and 1; only caption 1 points its way: it still ranks first for image 0.
    captions = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    ranks = ranks_by_owner(images, captions, np.array([0, 0, 1]), owner_of="item")
    assert ranks.tolist() == [0, 1]  # image 1's caption 2 ties with image 0's caption 0: the tie counts


def test_zero_shot_accuracy_by_hand() -> None:
    classes = np.eye(3, dtype=np.float32)  # prompts for classes 0, 1, 2
    images = np.array([[0.9, 0.1, 0.0], [0.6, 0.5, 0.0], [0.1, 0.3, 0.7]], dtype=np.float32)
    labels = np.array([0, 1, 2])
    # Image 0: class 0 best -> rank 0. Image 1: its class 1 (.5) trails class 0 (.6) -> rank 1.
    # Image 2: class 2 best -> rank 0. Top-1 2/3, top-2 3/3.
    assert classification_accuracy(images, classes, labels, (1, 2)) == pytest.approx({1: 2 / 3, 2: 1.0})


def test_blocks_give_the_same_ranks_as_one_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    queries, items = rng.standard_normal((10, 4)), rng.standard_normal((6, 4))
    owners = rng.integers(0, 6, 10)
    whole = ranks_by_owner(queries, items, owners, owner_of="query")
    monkeypatch.setattr("pixseek.eval.metrics.QUERY_BLOCK", 3)
    assert ranks_by_owner(queries, items, owners, owner_of="query").tolist() == whole.tolist()


def test_a_query_without_relevant_items_is_an_error() -> None:
    with pytest.raises(ValueError, match="relevant"):
        best_relevant_rank(np.zeros((1, 2)), np.array([[False, False]]))
