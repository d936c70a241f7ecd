"""Hostile and unusual image bytes through `decode_image`, each in a watched worker process.

The worker (a subprocess, so a hang or a native crash fails the test instead of the run) decodes
each input under a time bound and reports its outcome and its peak memory. Accepted: a decoded
image or an ImageDecodeError; anything else, a hang, or a dead worker is a failure.
"""

from __future__ import annotations

import io
import json
import select
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.reliability.conftest import record_figures
from tests.reliability.image_corpus import HEADER_MAKERS, bombs, broken_files, png_header, valid_oddities

MAX_PIXELS = 4_000_000
DECODE_TIMEOUT_S = 10.0  # generous for a loaded CI machine; a decode takes milliseconds
# Peak RSS growth allowed over the whole run: the biggest image the limit admits, decoded with every
# intermediate copy (measured 13-18 bytes a pixel: RGB, RGBA over white, 16-bit gray), plus slack.
# (16-bit input through float64 arrays took 31 bytes a pixel here, RGBA composited as RGBA 30.)
MEMORY_BOUND_KIB = (22 * MAX_PIXELS + 16 * 2**20) // 1024

WORKER = r"""
import json, os, sys, time
from pixseek.ingest.decode import ImageDecodeError, decode_image


def peak_rss_kib():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (here pytest with
    # the models loaded), which hid any growth below the parent's size.
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])


out = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)  # anything printed by a library goes to stderr, not into the replies
max_pixels = int(sys.argv[1])
decode_image(bytes.fromhex(sys.argv[2]), max_pixels)  # warm: imports and codecs loaded
baseline = peak_rss_kib()
read = sys.stdin.buffer.read
while header := read(4):
    data = read(int.from_bytes(header, "big"))
    started = time.perf_counter()
    try:
        image = decode_image(data, max_pixels)
        reply = {"outcome": "decoded", "size": [image.width, image.height]}
    except ImageDecodeError as exc:
        reply = {"outcome": "refused", "reason": exc.reason}
    except BaseException as exc:
        reply = {"outcome": "crashed", "error": f"{type(exc).__name__}: {exc}"}
    reply["seconds"] = time.perf_counter() - started
    reply["peak_growth_kib"] = peak_rss_kib() - baseline
    out.write(json.dumps(reply).encode() + b"\n")
    out.flush()
"""


class DecodeWorker:
    """A subprocess that decodes what it is sent; `decode` fails on a hang, a crash or a dead worker."""

    def __init__(self) -> None:
        warm = valid_oddities()["rgb.png"].hex()
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(MAX_PIXELS), warm],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # libtiff and libpng complain loudly about broken files
        )
        self.cases = 0
        self.slowest_s = 0.0
        self.peak_growth_kib = 0

    def decode(self, name: str, data: bytes) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(struct.pack(">I", len(data)) + data)
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], DECODE_TIMEOUT_S)
        assert ready, f"{name}: decode still running after {DECODE_TIMEOUT_S}s (hang)"
        line = self.process.stdout.readline()
        assert line, f"{name}: the decode worker died (exit {self.process.wait()})"
        reply: dict[str, Any] = json.loads(line)
        assert reply["outcome"] != "crashed", f"{name}: {reply['error']}"
        self.cases += 1
        self.slowest_s = max(self.slowest_s, reply["seconds"])
        self.peak_growth_kib = max(self.peak_growth_kib, reply["peak_growth_kib"])
        assert self.peak_growth_kib <= MEMORY_BOUND_KIB, f"{name}: memory grew {self.peak_growth_kib} KiB"
        return reply

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def worker() -> Iterator[DecodeWorker]:
    worker = DecodeWorker()
    started = time.monotonic()
    yield worker
    worker.close()
    record_figures("image_inputs", decodes=worker.cases, slowest_decode_s=round(worker.slowest_s, 3),
                   peak_rss_growth_mib=round(worker.peak_growth_kib / 1024, 1),
                   seconds=round(time.monotonic() - started, 1))  # fmt: skip


def test_unusual_but_valid_images_decode_upright_to_rgb(worker: DecodeWorker) -> None:
    valid = valid_oddities()
    refused = {name: reply.get("reason") for name, data in valid.items()
               if (reply := worker.decode(name, data))["outcome"] != "decoded"}  # fmt: skip
    assert not refused
    assert worker.decode("orientation-6", valid["orientation-6.jpg"])["size"] == [48, 64]  # turned upright


def test_the_largest_images_the_limit_admits_decode_within_the_memory_bound(worker: DecodeWorker) -> None:
    side = int(MAX_PIXELS**0.5)
    ramp = np.add.outer(np.arange(side), np.arange(side))
    largest = {
        "gray16": Image.fromarray((ramp * 16).astype(np.uint16)),
        "rgba": Image.fromarray(np.dstack([ramp % 256] * 3 + [ramp % 200]).astype(np.uint8), "RGBA"),
        "rgb": Image.fromarray(np.dstack([ramp % 256, ramp % 199, ramp % 97]).astype(np.uint8)),
    }
    for name, image in largest.items():
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        reply = worker.decode(f"largest-{name}", buffer.getvalue())  # fails past MEMORY_BOUND_KIB
        assert reply["outcome"] == "decoded" and reply["size"] == [side, side], reply


def test_broken_files_are_refused_without_crashing(worker: DecodeWorker) -> None:
    broken = broken_files(valid_oddities())
    outcomes = {name: worker.decode(name, data)["outcome"] for name, data in broken.items()}
    # A truncated animation or multi-page file may still hold a whole first frame: either outcome.
    must_refuse = {name for name in broken if not name.startswith("truncated-")}
    assert {name for name in must_refuse if outcomes[name] != "refused"} == set()
    assert len(broken) > 100


def test_pixel_bombs_are_refused_on_the_header_by_the_pixel_limit(worker: DecodeWorker) -> None:
    for name, data in bombs().items():
        reply = worker.decode(name, data)
        assert reply["outcome"] == "refused" and "too large" in reply["reason"], (name, reply)
        assert reply["seconds"] < 1.0, (name, reply)  # refused before any pixel is decoded


@given(data=st.binary(max_size=4096))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_bytes_never_crash_the_decoder(worker: DecodeWorker, data: bytes) -> None:
    worker.decode(f"random {data[:16].hex()}...", data)


def mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, value) edits: overwrite a byte, insert one, delete a run, or truncate."""
    buffer = bytearray(data)
    for kind, position, value in edits:
        at = position % (len(buffer) + 1)
        if kind == 0 and at < len(buffer):
            buffer[at] = value
        elif kind == 1:
            buffer[at:at] = bytes([value])
        elif kind == 2:
            del buffer[at : at + value % 64 + 1]
        elif kind == 3:
            del buffer[at:]
    return bytes(buffer)


SEEDS = valid_oddities()
EDITS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2**20), st.integers(0, 255)), min_size=1, max_size=8
)


@given(name=st.sampled_from(sorted(SEEDS)), edits=EDITS)
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
def test_mutated_valid_images_never_crash_the_decoder(
    worker: DecodeWorker, name: str, edits: list[tuple[int, int, int]]
) -> None:
    worker.decode(f"{name} with {edits}", mutate(SEEDS[name], edits))


@given(
    fmt=st.sampled_from(sorted(HEADER_MAKERS)),
    width=st.integers(1, 2**16 - 1),
    height=st.integers(1, 2**16 - 1),
)
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_declared_size_over_the_limit_is_refused(
    worker: DecodeWorker, fmt: str, width: int, height: int
) -> None:
    if fmt == "webp":
        width, height = min(width, 16_384), min(height, 16_384)  # the format's own bound
    reply = worker.decode(f"{fmt} header {width}x{height}", HEADER_MAKERS[fmt](width, height))
    if width * height > MAX_PIXELS:
        assert reply["outcome"] == "refused" and "too large" in reply["reason"], reply


def test_a_zlib_bomb_under_the_pixel_limit_decodes_within_bounds(worker: DecodeWorker) -> None:
    """1999 x 1999 grey pixels compress to a few kB; decoding them stays within the memory bound."""
    data = png_header(1999, 1999, b"".join(b"\x00" + b"\x7f" * (3 * 1999) for _ in range(1999)))
    assert len(data) < 50_000
    assert worker.decode("png zlib bomb 1999x1999", data)["outcome"] == "decoded"
