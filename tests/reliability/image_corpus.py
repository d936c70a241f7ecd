"""Malformed and unusual image files, generated: valid oddities, broken files, and pixel bombs.

`bombs()` declare far more pixels than any limit in a file of a few bytes (the header says so,
the data does not back it): each must be refused on the header, before a pixel is decoded.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

SIZE = (64, 48)


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _rgb(seed: int = 0, size: tuple[int, int] = SIZE) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _exif_jpeg(**tags: object) -> bytes:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[int(tag.removeprefix("t"))] = value
    return _encode(_rgb(3), "JPEG", exif=exif.tobytes())


def valid_oddities() -> dict[str, bytes]:
    """Files that must decode: every format, the unusual modes, animations, EXIF in any state."""
    rgb = _rgb()
    gray16 = Image.fromarray(np.arange(SIZE[0] * SIZE[1], dtype=np.uint16).reshape(SIZE[1], SIZE[0]) * 13)
    frames = [_rgb(seed) for seed in range(3)]
    palette_alpha = rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    palette_alpha.info["transparency"] = 0
    files = {f"rgb.{fmt.lower()}": _encode(rgb, fmt) for fmt in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")}
    files |= {
        "palette.png": _encode(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "palette-transparent.png": _encode(palette_alpha, "PNG", transparency=0),
        "palette.bmp": _encode(rgb.convert("P"), "BMP"),
        "cmyk.jpg": _encode(rgb.convert("CMYK"), "JPEG"),
        "cmyk.tif": _encode(rgb.convert("CMYK"), "TIFF"),
        "gray16.png": _encode(gray16, "PNG"),
        "gray16.tif": _encode(gray16, "TIFF"),
        "gray.jpg": _encode(rgb.convert("L"), "JPEG"),
        "bilevel.png": _encode(rgb.convert("1"), "PNG"),
        "bilevel-g4.tif": _encode(rgb.convert("1"), "TIFF", compression="group4"),
        "rgba.png": _encode(rgb.convert("RGBA"), "PNG"),
        "la.png": _encode(rgb.convert("LA"), "PNG"),
        "rgba.webp": _encode(rgb.convert("RGBA"), "WEBP", lossless=True),
        "rgba.tif": _encode(rgb.convert("RGBA"), "TIFF", compression="tiff_deflate"),
        "animated.gif": _encode(
            frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0
        ),
        "animated.webp": _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50),
        "animated.png": _encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50),
        "multipage.tif": _encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "progressive.jpg": _encode(rgb, "JPEG", progressive=True, quality=70),
        "one-pixel.png": _encode(_rgb(4, (1, 1)), "PNG"),
        "thin.png": _encode(_rgb(5, (2000, 1)), "PNG"),
        # EXIF: odd orientations, garbage dates, and blocks that are not EXIF at all.
        **{f"orientation-{value}.jpg": _exif_jpeg(t274=value) for value in (0, 2, 5, 6, 8, 9, 255, 65535)},
        "exif-date-garbage.jpg": _exif_jpeg(t306="2024:13:45 99:99:99", t36867="\x00\xff not a date"),
        "exif-wrong-types.jpg": _encode(rgb, "JPEG", exif=b"Exif\x00\x00" + _wrong_type_ifd()),
        "exif-random-bytes.jpg": _encode(rgb, "JPEG", exif=b"Exif\x00\x00" + np.random.bytes(200)),
        "exif-bad-offset.jpg": _encode(rgb, "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"),
        "exif-loop.jpg": _encode(rgb, "JPEG", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + _ifd_loop()),
        "png-exif-garbage.png": _encode(rgb, "PNG", exif=b"II*\x00" + np.random.bytes(64)),
    }
    return files


def _wrong_type_ifd() -> bytes:
    """Orientation as text, DateTime as a number, a count far past the end of the block."""
    entries = [(274, 2, 4, b"six\x00"), (306, 3, 1, struct.pack("<HH", 12345, 0)),
               (271, 2, 0x7FFFFFFF, struct.pack("<I", 8))]  # fmt: skip
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", t, k, n) + v for t, k, n, v in entries
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


def _ifd_loop() -> bytes:
    """An IFD with one entry whose next-IFD offset points back at itself."""
    return struct.pack("<H", 1) + struct.pack("<HHII", 274, 3, 1, 6) + struct.pack("<I", 8)


def broken_files(valid: dict[str, bytes]) -> dict[str, bytes]:
    """Files that must be refused (ImageDecodeError) or, for truncations, at least never crash."""
    png, jpeg = valid["rgb.png"], valid["rgb.jpeg"]
    files = {
        "zero-length": b"",
        "one-byte": b"\xff",
        "jpeg-magic-only": b"\xff\xd8\xff",
        "png-magic-only": png[:8],
        "gif-magic-only": b"GIF89a",
        "tiff-magic-only": b"II*\x00",
        "riff-webp-magic-only": b"RIFF\x00\x00\x00\x00WEBP",
        "bmp-magic-only": b"BM",
        "png-body-jpeg-magic": b"\xff\xd8\xff\xe0" + png[8:],
        "jpeg-body-png-magic": png[:8] + jpeg[3:],
        "text": b"%PDF-1.4 this is not a picture at all",
        "html": b"<html><body><img src=x onerror=alert(1)></body></html>",
        "png-bad-crc": png[:29] + b"\x00\x00\x00\x00" + png[33:],
        "png-no-idat": png[:33] + _png_chunk(b"IEND", b""),
        "unsupported-ppm": _encode(_rgb(), "PPM"),
        "unsupported-ico": _encode(_rgb(), "ICO"),
        "zip-bomb-shaped": b"PK\x03\x04" + zlib.compress(b"\x00" * 1_000_000),
    }
    for name, data in valid.items():
        for fraction in (0.1, 0.5, 0.9):
            files[f"truncated-{fraction}-{name}"] = data[: int(len(data) * fraction)]
    return files


# --- bombs: huge dimensions, tiny files -------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, idat: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(idat))
            + _png_chunk(b"IEND", b""))  # fmt: skip


def gif_header(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + descriptor + b"\x02\x02\x4c\x01\x00;"


def bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + info + b"\x00" * 16


def tiff_header(width: int, height: int) -> bytes:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 12 * 8 + 4), (278, 4, 1, height), (279, 4, 1, 16)]  # fmt: skip
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x00" * 16


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)


def webp_header(width: int, height: int) -> bytes:
    """An animated WebP: a canvas of `width` x `height` (at most 16384 a side) with one 1x1 frame."""
    one_pixel = _encode(Image.new("RGB", (1, 1)), "WEBP", lossless=True)[12:]  # its VP8L chunk

    def u24(value: int) -> bytes:
        return value.to_bytes(3, "little")

    body = (b"WEBP" + _riff_chunk(b"VP8X", struct.pack("<I", 0x02) + u24(width - 1) + u24(height - 1))
            + _riff_chunk(b"ANIM", bytes(6))
            + _riff_chunk(b"ANMF", u24(0) * 4 + u24(100) + b"\x00" + one_pixel))  # fmt: skip
    return b"RIFF" + struct.pack("<I", len(body)) + body


def jpeg_header(width: int, height: int) -> bytes:
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", 2 + len(sof)) + sof + b"\xff\xd9"


HEADER_MAKERS: dict[str, Callable[[int, int], bytes]] = {
    "png": png_header, "gif": gif_header, "bmp": bmp_header, "tiff": tiff_header, "webp": webp_header,
    "jpeg": jpeg_header,
}  # fmt: skip


def bombs() -> dict[str, bytes]:
    """Pixel bombs: dimensions in the hundreds of millions of pixels or more, files of bytes."""
    files = {f"{fmt}-header-16384x16384": make(16_384, 16_384) for fmt, make in HEADER_MAKERS.items()}
    files |= {
        "png-header-2^31x2^31": png_header(2**31 - 1, 2**31 - 1),
        "gif-header-65535x65535": gif_header(65_535, 65_535),
        "jpeg-header-65500x65500": jpeg_header(65_500, 65_500),
        "bmp-header-negative-height": bmp_header(100_000, -100_000),
        "tiff-header-2^32x1": tiff_header(2**32 - 1, 1),
        # A real zlib bomb: a valid 20000x20000 bilevel PNG that inflates to 50 MB, 400M pixels.
        "png-bilevel-20000x20000": _encode(Image.new("1", (20_000, 20_000)), "PNG"),
    }
    return files
