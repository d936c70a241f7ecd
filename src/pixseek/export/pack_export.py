"""`pixseek models export`: write one embedder and/or one detector into a pack directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pixseek.export.catalog import find_yolo
from pixseek.export.clip_export import ClipWeights, export_clip
from pixseek.export.yolo_export import export_yolo
from pixseek.models.pack_manifest import PACK_FILE, PackSpec, write_spec


@dataclass(frozen=True)
class ExportRequest:
    names: Sequence[str]
    out: Path
    random_weights: bool = False
    checkpoint: Path | None = None  # the CLIP model's (or the detector's, when it is exported alone)
    detector_checkpoint: Path | None = None
    pretrained_tag: str | None = None
    detector_size: int = 640


def export_pack(request: ExportRequest) -> list[str]:
    """Export each named model into `out/embedder` or `out/detector`; returns what was written."""
    detectors = [name for name in request.names if find_yolo(name) is not None]
    embedders = [name for name in request.names if find_yolo(name) is None]
    if len(detectors) > 1 or len(embedders) > 1:
        raise ValueError("a pack holds one embedder and one detector: name at most one of each")
    spec = PackSpec()
    written: list[str] = []
    for name in embedders:
        weights = ClipWeights(request.random_weights, request.checkpoint, request.pretrained_tag)
        export_clip(name, request.out / spec.embedder, weights)
        written.append(f"{name} -> {request.out / spec.embedder}")
    for name in detectors:
        checkpoint = request.detector_checkpoint or (None if embedders else request.checkpoint)
        export_yolo(
            name,
            request.out / spec.detector,
            checkpoint=checkpoint,
            random_weights=request.random_weights,
            image_size=request.detector_size,
        )
        written.append(f"{name} -> {request.out / spec.detector}")
    if not (request.out / PACK_FILE).exists():
        write_spec(request.out / PACK_FILE, spec)
    return written
