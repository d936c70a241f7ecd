"""On-disk description of an exported model pack: one embedder and one detector, each a manifest.

Layout of a pack directory (written by `pixseek models export`):

    pack.json                 names the two sub-directories and pipeline settings
    embedder/manifest.json    CLIP-style image + text encoders (ONNX) and the tokenizer vocabulary
    detector/manifest.json    YOLO-style detector (ONNX) and how to read its output

Everything a runtime needs (sizes, normalization, context length, output layout) is read from
here; no backend holds model constants of its own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PACK_FILE = "pack.json"
MANIFEST_FILE = "manifest.json"
SCHEMA_VERSION = 1

# Detector output layouts. `cxcywh_class_scores`: [batch, 4 + classes, anchors], box centre/size in
# input pixels then one sigmoid score per class, no NMS in the graph (YOLOv8/11).
# `xyxy_score_class`: [batch, max_det, 6] rows x1, y1, x2, y2, score, class, already NMS-free
# (end-to-end heads such as YOLO26, YOLOv10).
DetectorOutputFormat = Literal["cxcywh_class_scores", "xyxy_score_class"]
# open_clip's resize modes: shorter side to size + centre crop, plain resize, longer side + pad.
ResizeMode = Literal["shortest", "squash", "longest"]


class PackFormatError(ValueError):
    """A pack directory or manifest is missing, unreadable or inconsistent."""


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OnnxGraph(_Spec):
    """One ONNX file and the tensor names a runtime feeds and reads."""

    file: str
    input: str
    output: str
    sha256: str = ""
    # False when a run's outputs depend on the other inputs of its batch (dynamic int8 quantizes the
    # activations with one range per run): such a graph is run one input at a time.
    batch_invariant: bool = True


class ImageInputSpec(_Spec):
    size: int = Field(gt=0, description="square input side in pixels")
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"  # recorded from open_clip; pixseek resizes with area/bilinear
    resize_mode: ResizeMode = "shortest"
    fill: int = Field(default=0, ge=0, le=255, description="padding colour for resize_mode=longest")


class TokenizerSpec(_Spec):
    kind: Literal["clip_bpe"] = "clip_bpe"
    vocab_file: str
    clean: Literal["lower", "whitespace"] = "lower"
    context_length: int = Field(gt=2)


class EmbedderManifest(_Spec):
    kind: Literal["clip_embedder"] = "clip_embedder"
    schema_version: int = SCHEMA_VERSION
    model_id: str
    source: str  # what built it, e.g. "open_clip:MobileCLIP2-S2"
    weights: str  # "random", "checkpoint:<sha256>" or "pretrained:<tag>"
    dim: int = Field(gt=0)
    image: ImageInputSpec
    image_encoder: OnnxGraph
    text_encoder: OnnxGraph
    tokenizer: TokenizerSpec
    licence: str
    exported_with: dict[str, str] = Field(default_factory=dict)
    # Lowest ONNX-vs-PyTorch cosine measured at export, per graph.
    parity: dict[str, float] = Field(default_factory=dict)


class DetectorInputSpec(_Spec):
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fill: int = Field(default=114, ge=0, le=255, description="letterbox padding colour")
    scale: float = 1.0 / 255.0  # pixel -> network input; no mean/std for YOLO


class DetectorManifest(_Spec):
    kind: Literal["yolo_detector"] = "yolo_detector"
    schema_version: int = SCHEMA_VERSION
    model_id: str
    source: str
    weights: str
    input: DetectorInputSpec
    graph: OnnxGraph
    output_format: DetectorOutputFormat
    class_names: tuple[str, ...]
    iou_threshold: float = Field(default=0.45, gt=0.0, le=1.0, description="class-wise NMS overlap")
    licence: str
    exported_with: dict[str, str] = Field(default_factory=dict)
    parity: dict[str, float] = Field(default_factory=dict)


class PackSpec(_Spec):
    kind: Literal["pixseek_pack"] = "pixseek_pack"
    schema_version: int = SCHEMA_VERSION
    embedder: str = "embedder"
    detector: str = "detector"
    # Fraction of a box's width/height added on each side before an object crop is embedded.
    object_context_pad: float = Field(default=0.1, ge=0.0, le=1.0)


SpecT = TypeVar("SpecT", bound=_Spec)


class ModelPackFiles:
    """A validated pack directory: its spec, both manifests and where their files lie."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec = read_spec(root / PACK_FILE, PackSpec)
        self.embedder_dir = root / self.spec.embedder
        self.detector_dir = root / self.spec.detector
        self.embedder = read_spec(self.embedder_dir / MANIFEST_FILE, EmbedderManifest)
        self.detector = read_spec(self.detector_dir / MANIFEST_FILE, DetectorManifest)
        for directory, name in self.files():
            if not (directory / name).is_file():
                raise PackFormatError(f"{directory / name} is named in a manifest but missing")

    def files(self) -> list[tuple[Path, str]]:
        return [
            (self.embedder_dir, self.embedder.image_encoder.file),
            (self.embedder_dir, self.embedder.text_encoder.file),
            (self.embedder_dir, self.embedder.tokenizer.vocab_file),
            (self.detector_dir, self.detector.graph.file),
        ]

    @property
    def image_encoder_path(self) -> Path:
        return self.embedder_dir / self.embedder.image_encoder.file

    @property
    def text_encoder_path(self) -> Path:
        return self.embedder_dir / self.embedder.text_encoder.file

    @property
    def vocab_path(self) -> Path:
        return self.embedder_dir / self.embedder.tokenizer.vocab_file

    @property
    def detector_path(self) -> Path:
        return self.detector_dir / self.detector.graph.file

    @property
    def model_id(self) -> str:
        """Changes whenever any graph changes, so a store never mixes vectors of two exports."""
        digest = hashlib.sha256()
        for graph in (self.embedder.image_encoder, self.embedder.text_encoder, self.detector.graph):
            digest.update(graph.sha256.encode())
        return f"{self.embedder.model_id}+{self.detector.model_id}@{digest.hexdigest()[:12]}"

    def unverified_graphs(self) -> list[str]:
        """Graph files whose sha256 differs from their manifest (slow: reads every file)."""
        pairs = [
            (self.image_encoder_path, self.embedder.image_encoder.sha256),
            (self.text_encoder_path, self.embedder.text_encoder.sha256),
            (self.detector_path, self.detector.graph.sha256),
        ]
        return [str(path) for path, expected in pairs if file_sha256(path) != expected]


def read_spec(path: Path, model: type[SpecT]) -> SpecT:
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise PackFormatError(f"{path} not found: not an exported pixseek model pack") from None
    except (json.JSONDecodeError, ValidationError) as error:
        raise PackFormatError(f"{path} is not a valid {model.__name__}: {error}") from None


def write_spec(path: Path, spec: _Spec) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.model_dump_json(indent=2) + "\n", encoding="utf-8")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
