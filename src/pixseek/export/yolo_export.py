"""ultralytics YOLO model -> detector/ directory: ONNX graph and a manifest declaring its output format."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from copy import deepcopy
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from pixseek.export.catalog import ULTRALYTICS_LICENCE, YoloModel, find_yolo
from pixseek.export.onnx_export import OPSET
from pixseek.export.parity import ParityError, check_parity, run_onnx
from pixseek.models.coco import COCO_CLASSES
from pixseek.models.pack_manifest import (
    MANIFEST_FILE,
    DetectorInputSpec,
    DetectorManifest,
    DetectorOutputFormat,
    OnnxGraph,
    file_sha256,
    write_spec,
)

DETECTOR_FILE = "detector.onnx"


def resolve_yolo(name: str) -> YoloModel:
    found = find_yolo(name)
    if found is None:
        raise ValueError(f"unknown detector {name!r}: expected e.g. yolo11n/s/m or yolo26n/s/m")
    return found


def export_yolo(
    name: str, out_dir: Path, *, checkpoint: Path | None, random_weights: bool, image_size: int = 640
) -> DetectorManifest:
    entry = resolve_yolo(name)
    if random_weights:
        source, weights = entry.config_file, "random"
    elif checkpoint is not None:
        source, weights = str(checkpoint.resolve()), f"checkpoint:{file_sha256(checkpoint)}"
    else:
        source, weights = entry.weights_file, f"pretrained:{entry.weights_file}"
    if not weights.startswith("pretrained:"):
        os.environ.setdefault("YOLO_OFFLINE", "1")  # nothing to download: skip update checks too
    from ultralytics import YOLO

    yolo = YOLO(source)
    network: Any = yolo.model  # ultralytics' DetectionModel
    # NMS-free heads (YOLO26, YOLOv10) carry a one-to-one branch; ask for it so the graph ends in
    # final detections rather than raw anchors.
    end_to_end = getattr(network.model[-1], "one2one_cv2", None) is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / DETECTOR_FILE
    with tempfile.TemporaryDirectory() as work, contextlib.chdir(work):
        exported = yolo.export(
            format="onnx",
            imgsz=image_size,
            dynamic=True,
            opset=OPSET,
            simplify=False,  # onnxslim is optional; ONNX Runtime and TensorRT fold the graph anyway
            nms=False if end_to_end else None,
            half=False,
        )
        shutil.move(exported, target)

    output_format = _declared_format(target, image_size)
    cosine = _check_parity(network, target, image_size, end_to_end, output_format)
    manifest = DetectorManifest(
        model_id=entry.model_id,
        source=f"ultralytics:{source if weights == 'random' else entry.weights_file}",
        weights=weights,
        input=DetectorInputSpec(width=image_size, height=image_size),
        graph=OnnxGraph(file=DETECTOR_FILE, input="images", output="output0", sha256=file_sha256(target)),
        output_format=output_format,
        class_names=_class_names(network.names),
        licence=ULTRALYTICS_LICENCE,
        exported_with={"ultralytics": version("ultralytics"), "torch": version("torch")},
        parity={"detector": cosine},
    )
    write_spec(out_dir / MANIFEST_FILE, manifest)
    return manifest


def _declared_format(path: Path, size: int) -> DetectorOutputFormat:
    """Read the layout from the graph's output shape instead of assuming it from the model name."""
    (output,) = onnx.load(str(path), load_external_data=False).graph.output
    dims = [dim.dim_value or dim.dim_param for dim in output.type.tensor_type.shape.dim]
    probe = run_onnx(path, "images", np.zeros((1, 3, size, size), dtype=np.float32))
    if len(dims) == 3 and probe.shape[2] == 6:
        return "xyxy_score_class"
    if len(dims) == 3 and probe.shape[1] > 4:
        return "cxcywh_class_scores"
    raise ValueError(f"{path}: unrecognised detector output {dims} (probe {probe.shape})")


def _check_parity(
    model: torch.nn.Module, path: Path, size: int, end_to_end: bool, output_format: DetectorOutputFormat
) -> float:
    """Lowest cosine of the ONNX graph's output to PyTorch's on random images."""
    reference_model = deepcopy(model).float().eval()
    if end_to_end:
        reference_model.end2end = True
    images = torch.rand(2, 3, size, size)
    with torch.no_grad():
        reference = reference_model(images)
    reference_array = (reference[0] if isinstance(reference, tuple | list) else reference).numpy()
    candidate = run_onnx(path, "images", images.numpy())
    if output_format == "cxcywh_class_scores":
        return check_parity("detector", reference_array, candidate)
    # Top-k rows of an end-to-end head tie often (random weights especially) and may come out in
    # another order; compare their scores as sorted sets.
    scores = [np.sort(array[..., 4], axis=-1) for array in (reference_array, candidate)]
    cosine = check_parity("detector scores", *scores)
    if not np.allclose(scores[0], scores[1], atol=1e-3):
        raise ParityError("detector: ONNX and PyTorch top-k scores differ by more than 1e-3")
    return cosine


def _class_names(names: dict[int, str] | list[str]) -> tuple[str, ...]:
    listed = [names[i] for i in range(len(names))] if isinstance(names, dict) else list(names)
    # A model built from its YAML config has placeholder names "0".."79": COCO's, by construction.
    if len(listed) == len(COCO_CLASSES) and all(name == str(i) for i, name in enumerate(listed)):
        return COCO_CLASSES
    return tuple(listed)
