"""The numpy all-MiniLM-L6-v2 against sentence-transformers' published numbers and basic invariants."""

from __future__ import annotations

import numpy as np

from pixseek.models.protocols import TextEmbedder
from pixseek.models.starter.pack import StarterPack


def test_matches_the_published_sentence_transformers_similarities(starter_pack: StarterPack) -> None:
    # From the sentence-transformers README (all-MiniLM-L6-v2, model.similarity): 0.6660, 0.1046, 0.1411.
    sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    vectors = starter_pack.text_embedder.embed_texts(sentences)
    similarities = vectors @ vectors.T
    np.testing.assert_allclose(
        [similarities[0, 1], similarities[0, 2], similarities[1, 2]], [0.6660, 0.1046, 0.1411], atol=6e-4
    )


def test_vectors_are_unit_float32_of_the_pack_dim(starter_pack: StarterPack) -> None:
    embedder = starter_pack.text_embedder
    assert isinstance(embedder, TextEmbedder)
    vectors = embedder.embed_texts(["a cat", "", "Zürich 🚀"])
    assert vectors.shape == (3, starter_pack.info.dim) == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_is_deterministic(starter_pack: StarterPack) -> None:
    embedder = starter_pack.text_embedder
    np.testing.assert_array_equal(
        embedder.embed_texts(["a red bicycle"]), embedder.embed_texts(["a red bicycle"])
    )


def test_padding_in_a_batch_does_not_change_vectors(starter_pack: StarterPack) -> None:
    embedder = starter_pack.text_embedder
    texts = ["dog", "a small brown dog running across a wide green field in the sun", "two cats"]
    one_by_one = np.concatenate([embedder.embed_texts([t]) for t in texts])
    np.testing.assert_allclose(embedder.embed_texts(texts), one_by_one, atol=1e-5)


def test_cat_is_closer_to_kitten_than_to_rocket_launch(starter_pack: StarterPack) -> None:
    cat, kitten, rocket = starter_pack.text_embedder.embed_texts(["a cat", "a kitten", "a rocket launch"])
    assert cat @ kitten > cat @ rocket + 0.2


def test_long_text_is_truncated_not_rejected(starter_pack: StarterPack) -> None:
    embedder = starter_pack.text_embedder
    head = "word " * (embedder.max_length + 10)
    long_a, long_b = embedder.embed_texts([head + "cats " * 500, head + "rockets " * 500])
    # Only the first max_length tokens count, so different tails leave the same vector.
    np.testing.assert_allclose(long_a, long_b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(long_a), 1.0, atol=1e-5)


def test_no_texts_give_an_empty_matrix(starter_pack: StarterPack) -> None:
    assert starter_pack.text_embedder.embed_texts([]).shape == (0, 384)
