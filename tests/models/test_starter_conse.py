"""ConSE image vectors: text queries find the right photo; class vectors are cached on disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from pixseek.models.protocols import ImageEmbedder
from pixseek.models.starter.classifier import labels_path
from pixseek.models.starter.conse import ConseImageEmbedder, class_synonyms
from pixseek.models.starter.minilm import TEXT_EMBEDDER_ID
from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import RGBImage, Vectors


class CountingTextEmbedder:
    """The real embedder, counting the texts it is asked for."""

    def __init__(self, inner: StarterPack) -> None:
        self._inner = inner.text_embedder
        self.dim = self._inner.dim
        self.texts_embedded = 0

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        self.texts_embedded += len(texts)
        return self._inner.embed_texts(texts)


def test_class_synonyms_takes_the_first_names() -> None:
    assert class_synonyms("great white shark, white shark, man-eater, man-eating shark", 3) == [
        "great white shark",
        "white shark",
        "man-eater",
    ]
    assert class_synonyms("tench", 3) == ["tench"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a cat", "chelsea"),
        ("a kitten", "chelsea"),
        ("a photo of a cat", "chelsea"),
        ("a cup of coffee", "coffee"),
        ("coffee mug on a table", "coffee"),
        ("a rocket", "rocket"),
        ("a space launch vehicle", "rocket"),
    ],
)
def test_text_query_ranks_the_right_photo_first(
    starter_pack: StarterPack, gallery_vectors: tuple[list[str], Vectors], query: str, expected: str
) -> None:
    names, vectors = gallery_vectors
    (query_vector,) = starter_pack.text_embedder.embed_texts([query])
    ranked = [names[i] for i in np.argsort(-(vectors @ query_vector))]
    assert ranked[0] == expected, ranked[:3]


@pytest.fixture(scope="module")
def gallery_vectors(starter_pack: StarterPack, gallery: dict[str, RGBImage]) -> tuple[list[str], Vectors]:
    names = list(gallery)
    return names, starter_pack.image_embedder.embed_images([gallery[n] for n in names])


def test_image_vectors_are_unit_rows(
    starter_pack: StarterPack, gallery_vectors: tuple[list[str], Vectors]
) -> None:
    assert isinstance(starter_pack.image_embedder, ImageEmbedder)
    _, vectors = gallery_vectors
    assert vectors.dtype == np.float32 and vectors.shape[1] == starter_pack.info.dim
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_class_vectors_are_read_from_the_cache(starter_pack: StarterPack, chelsea: RGBImage) -> None:
    cache_file = starter_pack.image_embedder.cache_file
    assert cache_file.is_file()  # written by the pack's warmup
    mtime = cache_file.stat().st_mtime_ns
    counting = CountingTextEmbedder(starter_pack)
    again = ConseImageEmbedder(
        starter_pack.classifier,
        counting,
        labels_file=labels_path(),
        embedder_id=TEXT_EMBEDDER_ID,
        cache_dir=cache_file.parent,
    )
    assert again.cache_file == cache_file
    np.testing.assert_array_equal(
        again.embed_images([chelsea]), starter_pack.image_embedder.embed_images([chelsea])
    )
    assert counting.texts_embedded == 0
    assert cache_file.stat().st_mtime_ns == mtime
    assert not list(cache_file.parent.glob("*.tmp"))


def test_another_embedder_gets_its_own_cache_file(starter_pack: StarterPack) -> None:
    other = ConseImageEmbedder(
        starter_pack.classifier,
        starter_pack.text_embedder,
        labels_file=labels_path(),
        embedder_id="some-other-text-model",
        cache_dir=starter_pack.image_embedder.cache_file.parent,
    )
    assert other.cache_file != starter_pack.image_embedder.cache_file


def test_no_images_give_an_empty_matrix(starter_pack: StarterPack) -> None:
    assert starter_pack.image_embedder.embed_images([]).shape == (0, starter_pack.info.dim)


def test_an_unreadable_cache_is_rebuilt(starter_pack: StarterPack, tmp_path: Path) -> None:
    fresh = ConseImageEmbedder(
        starter_pack.classifier,
        starter_pack.text_embedder,
        labels_file=labels_path(),
        embedder_id=TEXT_EMBEDDER_ID,
        cache_dir=tmp_path,
    )
    fresh.cache_file.write_bytes(b"not an npy file")
    np.testing.assert_allclose(fresh.class_vectors(), starter_pack.image_embedder.class_vectors(), atol=1e-5)
    assert np.load(fresh.cache_file).shape == (1000, starter_pack.info.dim)
