"""The starter detector's graph on OpenVINO: the TF frozen graph converted once to OpenVINO IR.

On the 2-core Xeon, one image per call on one thread: OpenCV's dnn 95 ms, OpenVINO fp32 about 50 ms
with the same detections (classes and scores equal to two decimals on the 16 sample photos). bf16
would take 26 ms but moves scores by up to 0.1 around the confidence threshold, so it stays fp32.
Converting takes ~15 s, so the IR is saved in the cache folder, per OpenVINO version, and so is the
compiled graph.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from pixseek.models.openvino_session import OpenVinoGraphRunner, core, openvino_findable

log = logging.getLogger(__name__)

DetectorEngine = Literal["opencv", "openvino"]
INPUT: Final = "image_tensor:0"  # uint8 (1, 300, 300, 3) RGB: the graph's own size, fixed (see below)
OUTPUT: Final = "detections"  # (1, 100, 6): ymin, xmin, ymax, xmax (0..1), TF class id, score
_TF_OUTPUTS: Final = ("detection_boxes:0", "detection_classes:0", "detection_scores:0")


def choose_detector_engine(setting: str) -> DetectorEngine:
    """`setting` is 'auto', 'opencv' or 'openvino' (PIXSEEK_STARTER_DETECTOR_ENGINE)."""
    if setting == "opencv":
        return "opencv"
    if setting == "openvino":
        core()  # RuntimeError naming the install command when OpenVINO is missing
        return "openvino"
    if setting != "auto":
        raise ValueError(f"unknown detector engine {setting!r}; expected 'auto', 'opencv' or 'openvino'")
    return "openvino" if openvino_findable() else "opencv"  # imported at first use, not here


def open_detector_graph(
    frozen_graph: Path, cache_dir: Path, name: str, size: tuple[int, int]
) -> OpenVinoGraphRunner:
    """The graph compiled for the CPU, fp32, one thread per call (ingest workers call side by side),
    for (1, height, width, 3) input: `size` is (width, height). Compiled graphs are cached too: a
    process then loads it in ~1 s instead of ~5 s."""
    converted = _converted(frozen_graph, cache_dir, name, size)
    compiled_cache = converted.parent / "openvino-compiled"
    return OpenVinoGraphRunner(converted, INPUT, OUTPUT, 1, "f32", compiled_cache)


def tf_rows(detections: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(100, 6) OpenVINO rows -> the (100, 7) rows of OpenCV's dnn: image, class, score, x1, y1, x2, y2."""
    ymin, xmin, ymax, xmax, class_id, score = detections.T
    zeros = np.zeros_like(score)
    return np.stack((zeros, class_id, score, xmin, ymin, xmax, ymax), axis=1)


def _converted(frozen_graph: Path, cache_dir: Path, name: str, size: tuple[int, int]) -> Path:
    core()  # 'auto' chose OpenVINO without importing it: a broken install gets the install hint here
    import openvino

    width, height = size
    version = openvino.get_version().split("-")[0]
    target = cache_dir / "starter" / f"{name}-{width}x{height}-openvino-{version}.xml"
    if target.is_file():
        return target
    # A warning, so that a CLI without logging set up shows it too: the first run is slow for this.
    log.warning("pixseek: converting the starter detector for OpenVINO (once per cache folder, ~20-40 s)")
    model = openvino.convert_model(str(frozen_graph))
    # A fixed input shape: with the graph's dynamic (?, ?, ?, 3) input, two threads setting their
    # requests' input shapes at once hung inside OpenVINO (2026.4).
    model.reshape({INPUT: [1, height, width, 3]})
    # What feeds each output's Result node: a Result cannot feed another node.
    boxes, classes, scores = (model.output(output).get_node().input_value(0) for output in _TF_OUTPUTS)
    ops = openvino.opset13
    columns = [boxes, ops.unsqueeze(classes, -1), ops.unsqueeze(scores, -1)]
    joined = ops.concat(columns, axis=-1)
    joined.output(0).set_names({OUTPUT})
    combined = openvino.Model([joined.output(0)], model.get_parameters(), name)
    # Written under a name of this process, then moved into place weights first: a reader that
    # finds the .xml finds its .bin, and concurrent first users (API workers) do not collide.
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial.xml")
    openvino.save_model(combined, partial, compress_to_fp16=False)
    os.replace(partial.with_suffix(".bin"), target.with_suffix(".bin"))
    os.replace(partial, target)
    return target
