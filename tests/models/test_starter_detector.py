"""SSD-MobileNet-v2 on real photos."""

from __future__ import annotations

from pixseek.models.protocols import Detector
from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import Detection, RGBImage


def names(detections: list[Detection], min_confidence: float = 0.5) -> list[str]:
    return [d.class_name for d in detections if d.confidence > min_confidence]


def assert_inside(detections: list[Detection], image: RGBImage) -> None:
    height, width = image.shape[:2]
    for d in detections:
        assert 0 <= d.box.x1 < d.box.x2 <= width and 0 <= d.box.y1 < d.box.y2 <= height, d


def test_detector_implements_the_protocol(starter_pack: StarterPack) -> None:
    assert isinstance(starter_pack.detector, Detector)


def test_finds_the_cat_in_chelsea(starter_pack: StarterPack, chelsea: RGBImage) -> None:
    image = chelsea
    (detections,) = starter_pack.detector.detect([image])
    assert "cat" in names(detections)
    assert_inside(detections, image)
    cat = next(d for d in detections if d.class_name == "cat")
    assert cat.class_id == 15 and cat.box.width > image.shape[1] / 3  # the cat fills the photo


def test_finds_people_and_the_bus_in_a_batch(
    starter_pack: StarterPack, coffee: RGBImage, bus: RGBImage
) -> None:
    found_coffee, found_bus = starter_pack.detector.detect([coffee, bus])
    assert "cup" in names(found_coffee)
    assert names(found_bus).count("person") >= 2 and "bus" in names(found_bus)
    assert_inside(found_coffee, coffee)
    assert_inside(found_bus, bus)


def test_detections_are_sorted_and_thresholded(starter_pack: StarterPack, bus: RGBImage) -> None:
    (detections,) = starter_pack.detector.detect([bus])
    confidences = [d.confidence for d in detections]
    assert confidences == sorted(confidences, reverse=True)
    assert min(confidences) >= starter_pack.detector.min_confidence


def test_batch_equals_one_by_one(starter_pack: StarterPack, chelsea: RGBImage, bus: RGBImage) -> None:
    images = [chelsea, bus]
    assert starter_pack.detector.detect(images) == [starter_pack.detector.detect([i])[0] for i in images]


def test_empty_batch(starter_pack: StarterPack) -> None:
    assert starter_pack.detector.detect([]) == []
