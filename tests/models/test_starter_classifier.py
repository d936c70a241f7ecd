"""EfficientNet-Lite3 int8 on real photos."""

from __future__ import annotations

import numpy as np

from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import RGBImage


def test_top_class_of_chelsea_is_a_cat(starter_pack: StarterPack, chelsea: RGBImage) -> None:
    classifier = starter_pack.classifier
    (probabilities,) = classifier.classify([chelsea])
    top = classifier.labels[int(np.argmax(probabilities))]
    assert top in {"tabby, tabby cat", "tiger cat", "Persian cat", "Siamese cat, Siamese", "Egyptian cat"}
    assert probabilities.max() > 0.5


def test_outputs_are_probabilities(starter_pack: StarterPack, chelsea: RGBImage, coffee: RGBImage) -> None:
    probabilities = starter_pack.classifier.classify([chelsea, coffee])
    assert probabilities.shape == (2, 1000) and probabilities.dtype == np.float32
    assert (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
