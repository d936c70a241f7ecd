"""Decoding untrusted bytes: formats, orientation, capture date, and clear reasons for bad input."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from pixseek.ingest.decode import ImageDecodeError, decode_image, parse_exif_datetime

LIMIT = 10_000_000


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def gradient(width: int = 40, height: int = 30) -> Image.Image:
    xs = np.linspace(0, 255, width, dtype=np.uint8)
    array = np.stack([np.tile(xs, (height, 1))] * 3, axis=-1)
    array[..., 1] = 100
    return Image.fromarray(array)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"])
def test_every_supported_format_decodes_to_rgb_of_the_right_size(fmt: str) -> None:
    decoded = decode_image(encode(gradient(), fmt), LIMIT)
    assert decoded.rgb.shape == (30, 40, 3)
    assert decoded.rgb.dtype == np.uint8
    assert (decoded.width, decoded.height) == (40, 30)


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), color) for color in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    rgb = decode_image(data, LIMIT).rgb
    assert rgb[4, 4, 0] > 200 and rgb[4, 4, 2] < 50


def test_exif_orientation_is_applied_and_capture_date_read() -> None:
    image = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif.get_ifd(0x8769)[36867] = "2021:07:04 12:30:00"
    decoded = decode_image(encode(image, "JPEG", exif=exif), LIMIT)
    assert (decoded.width, decoded.height) == (20, 40)
    assert decoded.captured_at == datetime(2021, 7, 4, 12, 30, tzinfo=UTC)


def test_image_without_exif_has_no_capture_date() -> None:
    assert decode_image(encode(gradient(), "PNG"), LIMIT).captured_at is None


def test_garbage_exif_date_is_ignored_not_fatal() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "not a date"
    decoded = decode_image(encode(gradient(), "JPEG", exif=exif), LIMIT)
    assert decoded.captured_at is None


@pytest.mark.parametrize(
    ("mode", "color"),
    [("P", 3), ("CMYK", (0, 0, 0, 0)), ("L", 128), ("I;16", 65535), ("LA", (0, 0))],
)
def test_unusual_pixel_modes_become_rgb(mode: str, color: object) -> None:
    fmt = {"CMYK": "JPEG", "I;16": "PNG"}.get(mode, "PNG")
    decoded = decode_image(encode(Image.new(mode, (9, 7), color), fmt), LIMIT)
    assert decoded.rgb.shape == (7, 9, 3)


def test_transparent_pixels_become_white() -> None:
    rgb = decode_image(encode(Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "PNG"), LIMIT).rgb
    assert rgb.min() == 255


def test_empty_bytes_are_rejected_as_empty() -> None:
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_image(b"", LIMIT)


def test_text_is_rejected_as_not_an_image() -> None:
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image(b"hello, this is plain text and not a picture", LIMIT)


def test_truncated_jpeg_is_rejected_as_corrupt() -> None:
    data = encode(gradient(200, 200), "JPEG")
    with pytest.raises(ImageDecodeError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2], LIMIT)


def test_corrupted_png_body_is_rejected() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = bytearray(encode(Image.fromarray(noise), "PNG"))
    data[400:800] = bytes(400)  # inside the compressed pixel stream
    with pytest.raises(ImageDecodeError):
        decode_image(bytes(data), LIMIT)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG")  # a few KB, 400 Mpx
    assert len(bomb) < 200_000
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(bomb, LIMIT)


def test_unsupported_format_is_named() -> None:
    with pytest.raises(ImageDecodeError, match="unsupported image format"):
        decode_image(encode(gradient(), "PPM"), LIMIT)


def test_exif_datetime_parser_accepts_common_spellings() -> None:
    assert parse_exif_datetime(b"2020:01:02 03:04:05\x00") == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_exif_datetime("2020-01-02 03:04:05") == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_exif_datetime("0000:00:00 00:00:00") is None
    assert parse_exif_datetime(42) is None


def jpeg_with_exif_dates(original: str | None, offsets: dict[int, str], plain: str | None = None) -> bytes:
    exif = Image.Exif()
    if plain is not None:
        exif[0x0132] = plain  # DateTime
    sub_ifd = exif.get_ifd(0x8769)
    if original is not None:
        sub_ifd[0x9003] = original  # DateTimeOriginal
    sub_ifd.update(offsets)
    buffer = io.BytesIO()
    gradient().save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_capture_times_are_converted_to_utc_with_the_recorded_offset() -> None:
    """OffsetTimeOriginal (0x9011) goes with DateTimeOriginal, OffsetTime (0x9010) with DateTime."""
    at = datetime(2022, 6, 15, 18, 30, tzinfo=UTC)
    cases = [
        (jpeg_with_exif_dates("2022:06:15 20:30:00", {0x9011: "+02:00"}), at),
        (jpeg_with_exif_dates("2022:06:15 13:30:00", {0x9011: "-05:00", 0x9010: "+09:00"}), at),
        (jpeg_with_exif_dates(None, {0x9010: "+05:30"}, plain="2022:06:16 00:00:00"), at),
        (jpeg_with_exif_dates("2022:06:15 19:30:00", {0x9010: "+01:00"}), at),  # only the file's offset
        (jpeg_with_exif_dates("2022:06:15 18:30:00", {}), at),  # no offset recorded: read as UTC
        (jpeg_with_exif_dates("2022:06:15 18:30:00", {0x9011: "   :  "}), at),  # a blank offset field
    ]
    for data, expected in cases:
        assert decode_image(data, LIMIT).captured_at == expected
    assert parse_exif_datetime("9999:12:31 23:00:00", "-05:00") == datetime(9999, 12, 31, 23, tzinfo=UTC)
