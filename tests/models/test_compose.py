"""ComposedAnalyzer over the real starter models."""

from __future__ import annotations

import numpy as np

from pixseek.models.compose import ComposedAnalyzer
from pixseek.models.protocols import ImageAnalyzer
from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import RGBImage


def test_analyzes_a_batch_into_image_and_object_vectors(
    starter_pack: StarterPack, chelsea: RGBImage, bus: RGBImage
) -> None:
    analyzer = starter_pack.analyzer
    assert isinstance(analyzer, ImageAnalyzer)
    blank = np.full((120, 160, 3), 127, dtype=np.uint8)
    cat, street, empty = analyzer.analyze([chelsea, bus, blank])
    dim = starter_pack.info.dim
    assert "cat" in [d.class_name for d in cat.detections]
    assert {"person", "bus"} <= {d.class_name for d in street.detections}
    for analysis in (cat, street, empty):
        assert analysis.image_vector.shape == (dim,)
        assert analysis.object_vectors.shape == (len(analysis.detections), dim)
        assert analysis.object_vectors.dtype == np.float32
        vectors = np.vstack([analysis.image_vector, analysis.object_vectors])
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert empty.detections == [] and empty.object_vectors.shape == (0, dim)


def test_object_vectors_describe_the_object(starter_pack: StarterPack, chelsea: RGBImage) -> None:
    (analysis,) = starter_pack.analyzer.analyze([chelsea])
    cat_index = next(i for i, d in enumerate(analysis.detections) if d.class_name == "cat")
    cat, rocket = starter_pack.text_embedder.embed_texts(["a cat", "a rocket"])
    assert analysis.object_vectors[cat_index] @ cat > analysis.object_vectors[cat_index] @ rocket


def test_keeps_the_most_confident_objects(starter_pack: StarterPack, bus: RGBImage) -> None:
    analyzer = ComposedAnalyzer(
        starter_pack.detector, starter_pack.image_embedder, max_objects=2, min_confidence=0.6
    )
    (analysis,) = analyzer.analyze([bus])
    (everything,) = starter_pack.detector.detect([bus])
    best_two = sorted((d.confidence for d in everything), reverse=True)[:2]
    assert len(everything) > 2 and best_two[1] >= 0.6
    assert sorted((d.confidence for d in analysis.detections), reverse=True) == best_two
    assert analysis.object_vectors.shape == (2, starter_pack.info.dim)


def test_embeds_in_chunks(starter_pack: StarterPack, chelsea: RGBImage, bus: RGBImage) -> None:
    chunked = ComposedAnalyzer(starter_pack.detector, starter_pack.image_embedder, embed_batch_size=2)
    for one, other in zip(
        chunked.analyze([chelsea, bus]), starter_pack.analyzer.analyze([chelsea, bus]), strict=True
    ):
        assert one.detections == other.detections
        np.testing.assert_allclose(one.object_vectors, other.object_vectors, atol=1e-6)


def test_empty_batch(starter_pack: StarterPack) -> None:
    assert starter_pack.analyzer.analyze([]) == []
