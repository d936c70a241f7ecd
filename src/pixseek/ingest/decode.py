"""Decode untrusted image bytes into RGB arrays, with EXIF orientation and capture date.

Every failure becomes an `ImageDecodeError` with a reason a user can act on; nothing here
crashes or hangs on hostile input (the pixel count is checked before any pixel is decoded).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pixseek.models.types import RGBImage

SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"})
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".dib", ".gif", ".tif", ".tiff"}
)
FORMAT_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp",
                     "GIF": ".gif", "TIFF": ".tif"}  # fmt: skip

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_DATETIME = 306
_OFFSET_TIME = 0x9010  # the UTC offset of DateTime (EXIF 2.31), in the EXIF IFD
_OFFSET_TIME_ORIGINAL = 0x9011  # ... of DateTimeOriginal
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")

# Pillow's own bomb guard warns at half our limit and raises at double: we do the check ourselves.
Image.MAX_IMAGE_PIXELS = None


class ImageDecodeError(ValueError):
    """The bytes are not an image pixseek can use; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DecodedImage:
    rgb: RGBImage
    width: int
    height: int
    format: str  # Pillow's format name, e.g. "JPEG"
    captured_at: datetime | None

    @property
    def extension(self) -> str:
        return FORMAT_EXTENSIONS.get(self.format, ".img")


def decode_image(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode bytes (first frame of animations), upright by EXIF orientation, as RGB uint8."""
    if not data:
        raise ImageDecodeError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd EXIF; bad files still fail below
            return _decode(data, max_pixels)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise ImageDecodeError("not an image (unrecognized format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        raise ImageDecodeError(f"corrupt or truncated image: {exc}") from None
    except MemoryError:
        raise ImageDecodeError("image too large to decode") from None


def _decode(data: bytes, max_pixels: int) -> DecodedImage:
    with Image.open(io.BytesIO(data)) as image:
        fmt = image.format or "unknown"
        if fmt not in SUPPORTED_FORMATS:
            raise ImageDecodeError(f"unsupported image format {fmt}")
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ImageDecodeError("image has no pixels")
        if width * height > max_pixels:
            raise ImageDecodeError(
                f"image too large: {width}x{height} pixels exceeds the limit of {max_pixels}"
            )
        image.seek(0)
        image.load()  # before EXIF: reading EXIF may load pixels and swallow their error
        captured_at = read_capture_date(image)
        upright = ImageOps.exif_transpose(image) or image
        rgb = to_rgb_array(upright)
    return DecodedImage(rgb, rgb.shape[1], rgb.shape[0], fmt, captured_at)


def to_rgb_array(image: Image.Image) -> RGBImage:
    """Any mode (palette, CMYK, 16-bit, alpha) to RGB uint8; transparency over white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # float32 and in place: one 4-byte copy of the pixels (float64 copies took 24 bytes a pixel).
        scaled = np.asarray(image).astype(np.float32)
        peak = float(scaled.max()) if scaled.size else 0.0
        if peak > 255:
            scaled *= 255.0 / peak
        image = Image.fromarray(np.clip(scaled, 0, 255, out=scaled).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))  # over white, without a second RGBA copy
        image = background
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def read_capture_date(image: Image.Image) -> datetime | None:
    """EXIF DateTimeOriginal (else DateTime) in UTC; None when absent or malformed. The camera's
    local time is converted with its recorded UTC offset (OffsetTimeOriginal / OffsetTime), and
    taken as UTC when the camera recorded none (EXIF before 2.31)."""
    try:
        exif = image.getexif()
        ifd = exif.get_ifd(_EXIF_IFD)
        if original := ifd.get(_DATETIME_ORIGINAL):  # its own offset, else the file's
            raw, offset = original, ifd.get(_OFFSET_TIME_ORIGINAL) or ifd.get(_OFFSET_TIME)
        else:
            raw, offset = exif.get(_DATETIME), ifd.get(_OFFSET_TIME)
    except Exception:  # garbage EXIF must never reject an otherwise good image
        return None
    return parse_exif_datetime(raw, offset)


def parse_exif_datetime(raw: object, offset: object = None) -> datetime | None:
    text = _exif_text(raw)
    if text is None:
        return None
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M"):
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        try:
            return local.replace(tzinfo=_exif_offset(offset) or UTC).astimezone(UTC)
        except OverflowError:  # year 1 or 9999 shifted past the calendar
            return local.replace(tzinfo=UTC)
    return None


def _exif_text(raw: object) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "ignore")
    return raw.strip().rstrip("\x00") if isinstance(raw, str) else None


def _exif_offset(raw: object) -> timezone | None:
    """'+02:00' -> UTC+2; None for anything else (absent, blank, out of range)."""
    match = _OFFSET.fullmatch(_exif_text(raw) or "")
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) > 59:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)
