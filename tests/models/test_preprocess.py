"""Preprocessing against values computed by hand on tiny synthetic images."""

from __future__ import annotations

import numpy as np
import pytest

from pixseek.models.preprocess import (
    boxes_to_original,
    center_crop_geometry,
    central_band,
    crop_with_context,
    letterbox,
    normalize_to_nchw,
    resize,
    resize_center_crop,
    stretch_geometry,
)
from pixseek.models.types import Box


def constant(width: int, height: int, value: int) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


def test_resize_shrinking_averages_blocks() -> None:
    image = np.zeros((2, 4, 3), dtype=np.uint8)
    image[:, :, 0] = [[0, 10, 20, 40], [20, 30, 60, 80]]
    shrunk = resize(image, (2, 1))
    # Each output pixel is the mean of a 2x2 block: (0+10+20+30)/4 and (20+40+60+80)/4.
    assert shrunk[:, :, 0].tolist() == [[15, 50]]


def test_letterbox_wide_image_is_padded_top_and_bottom() -> None:
    canvas, geometry = letterbox(constant(4, 2, 200), (8, 8), fill=114)
    assert canvas.shape == (8, 8, 3)
    assert (geometry.scale_x, geometry.scale_y, geometry.pad_x, geometry.pad_y) == (2.0, 2.0, 0.0, 2.0)
    assert (canvas[:2] == 114).all() and (canvas[6:] == 114).all()
    assert (canvas[2:6] == 200).all()


def test_letterbox_tall_image_keeps_per_axis_scale_after_rounding() -> None:
    canvas, geometry = letterbox(constant(2, 4, 50), (5, 5), fill=0)
    # scale min(5/2, 5/4) = 1.25 -> 2.5 x 5, rounded to 2 x 5, centred with one column on the left.
    assert (geometry.scale_x, geometry.scale_y, geometry.pad_x, geometry.pad_y) == (1.0, 1.25, 1.0, 0.0)
    assert (canvas[:, 1:3] == 50).all()
    assert (canvas[:, [0, 3, 4]] == 0).all()


def test_boxes_map_back_from_letterbox_pixels_and_normalized_coordinates() -> None:
    _, geometry = letterbox(constant(4, 2, 200), (8, 8))
    assert boxes_to_original([[0, 2, 8, 6]], geometry).tolist() == [[0, 0, 4, 2]]
    assert boxes_to_original([[2, 3, 6, 5]], geometry).tolist() == [[1, 0.5, 3, 1.5]]
    normalized = boxes_to_original([[0, 0.25, 1, 0.75]], geometry, normalized=True)
    assert normalized.tolist() == [[0, 0, 4, 2]]


def test_boxes_outside_the_image_are_clipped() -> None:
    _, geometry = letterbox(constant(4, 2, 200), (8, 8))
    assert boxes_to_original([[-4, 0, 10, 8]], geometry).tolist() == [[0, 0, 4, 2]]


def test_boxes_map_back_from_a_stretched_input() -> None:
    geometry = stretch_geometry((200, 100), (300, 300))
    boxes = boxes_to_original([[0.5, 0.5, 1.0, 1.0], [0.1, 0.2, 0.3, 0.4]], geometry, normalized=True)
    np.testing.assert_allclose(boxes, [[100, 50, 200, 100], [20, 20, 60, 40]], atol=1e-4)


def test_no_boxes_give_an_empty_array() -> None:
    assert boxes_to_original(np.zeros((0, 4)), stretch_geometry((10, 10), (3, 3))).shape == (0, 4)


def test_center_crop_without_resize_takes_the_middle() -> None:
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    np.testing.assert_array_equal(resize_center_crop(image, 4), image[:, 1:5])


def test_center_crop_fraction_crops_inside_the_resized_shorter_side() -> None:
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    # Shorter side resized to 2 / 0.5 = 4 (unchanged), then the centre 2x2: rows 1..2, columns 2..3.
    np.testing.assert_array_equal(resize_center_crop(image, 2, crop_fraction=0.5), image[1:3, 2:4])


def test_center_crop_rounds_as_torchvision_does() -> None:
    # torchvision: longer side int(256 * 1280 / 720) = 455 (not round: 455), offset round(199 / 2) = 100;
    # int(256 * 1000 / 600) = 426 (round would give 427), offset round(170 / 2) = 85.
    assert center_crop_geometry(1280, 720, 256) == (455, 256, 100, 0)
    assert center_crop_geometry(600, 1000, 256) == (256, 426, 0, 85)
    assert center_crop_geometry(312, 500, 280, crop_fraction=280 / 312) == (312, 500, 16, 110)
    image = np.arange(4 * 7 * 3, dtype=np.uint8).reshape(4, 7, 3)
    np.testing.assert_array_equal(resize_center_crop(image, 4), image[:, 2:6])  # round(1.5) = 2


def test_center_crop_resizes_to_the_requested_square() -> None:
    assert resize_center_crop(constant(300, 100, 9), 50).shape == (50, 50, 3)
    assert (resize_center_crop(constant(30, 60, 9), 100) == 9).all()


def test_center_crop_of_a_needle_thin_image_cuts_before_resizing() -> None:
    # 2 x 1,000,000 pixels: resizing the whole image first would ask for 256 x 128,000,000 (98 GB).
    needle = np.zeros((2, 1_000_000, 3), dtype=np.uint8)
    needle[:, 499_000:501_000] = 200  # only the middle is bright
    crop = resize_center_crop(needle, 256)
    assert crop.shape == (256, 256, 3) and (crop == 200).all()


def test_central_band_keeps_ordinary_images_whole() -> None:
    image = constant(480, 640, 5)
    assert central_band(image, 4.0) is image
    assert central_band(constant(100, 10, 5), 4.0).shape == (10, 40, 3)
    assert central_band(constant(3, 100, 5), 4.0).shape == (12, 3, 3)


def test_normalize_to_nchw_per_channel() -> None:
    image = np.array([[[255, 0, 51], [0, 255, 102]]], dtype=np.uint8)  # 1 row, 2 pixels
    out = normalize_to_nchw([image], mean=(0.5, 0.5, 0.5), std=(0.5, 0.25, 0.2))
    assert out.dtype == np.float32 and out.shape == (1, 3, 1, 2)
    # (x / 255 - mean) / std: 255 -> 1, 0 -> -1; 0 -> -2, 255 -> 2; 51 -> -1.5, 102 -> -0.5.
    np.testing.assert_allclose(out[0, :, 0, :], [[1, -1], [-2, 2], [-1.5, -0.5]], atol=1e-6)


def test_crop_with_context_enlarges_each_side() -> None:
    image = np.arange(10 * 20 * 3, dtype=np.uint32).reshape(10, 20, 3)
    crop = crop_with_context(image, Box(4, 2, 8, 6), pad_ratio=0.25)  # 1 px more on every side
    np.testing.assert_array_equal(crop, image[1:7, 3:9])


def test_crop_with_context_is_clipped_to_the_image() -> None:
    image = np.zeros((10, 20, 3), dtype=np.uint8)
    assert crop_with_context(image, Box(0, 0, 4, 4), pad_ratio=0.5).shape == (6, 6, 3)
    assert crop_with_context(image, Box(-5, -5, 50, 50), pad_ratio=0.1).shape == (10, 20, 3)


@pytest.mark.parametrize("box", [Box(5, 5, 5, 5), Box(25, 12, 25, 12), Box(-9, -9, -3, -3), Box(8, 3, 2, 1)])
def test_crop_with_context_is_never_empty(box: Box) -> None:
    crop = crop_with_context(np.zeros((10, 20, 3), dtype=np.uint8), box, pad_ratio=0.1)
    assert crop.shape[0] >= 1 and crop.shape[1] >= 1


def test_crop_with_context_returns_a_copy() -> None:
    image = np.zeros((10, 20, 3), dtype=np.uint8)
    crop_with_context(image, Box(2, 2, 6, 6), pad_ratio=0.0)[:] = 7
    assert (image == 0).all()
