"""Which models `pixseek models export` knows by a short name, and their licences."""

from __future__ import annotations

import re
from dataclasses import dataclass

MOBILECLIP2_LICENCE = (
    "MobileCLIP2 weights: Apple Machine Learning Research Model licence (apple-amlr), research use "
    "only, no commercial use; open_clip code: MIT"
)
MOBILECLIP_LICENCE = "MobileCLIP weights: Apple Sample Code License (apple-ascl); open_clip code: MIT"
OTHER_CLIP_LICENCE = "see the licence of the checkpoint used; open_clip code: MIT"
ULTRALYTICS_LICENCE = (
    "AGPL-3.0 (Ultralytics YOLO code and weights): serving it to users obliges you to offer the "
    "source of the whole service; commercial closed use needs an Ultralytics Enterprise licence"
)


@dataclass(frozen=True)
class ClipModel:
    model_id: str  # pixseek's short name, e.g. "mobileclip2-s2"
    open_clip_name: str
    pretrained_tag: str | None  # open_clip's tag for hub weights and preprocessing settings
    licence: str


@dataclass(frozen=True)
class YoloModel:
    model_id: str  # e.g. "yolo11s"; also the ultralytics model file stem

    @property
    def config_file(self) -> str:
        return f"{self.model_id}.yaml"

    @property
    def weights_file(self) -> str:
        return f"{self.model_id}.pt"


# MobileCLIP v1 S0 is not in open_clip (its text tower is a different design); export it from a
# converted open_clip config and checkpoint, or pass any open_clip model name instead.
_CLIP_MODELS = {
    model.model_id: model
    for model in (
        ClipModel("mobileclip2-s0", "MobileCLIP2-S0", "dfndr2b", MOBILECLIP2_LICENCE),
        ClipModel("mobileclip2-s2", "MobileCLIP2-S2", "dfndr2b", MOBILECLIP2_LICENCE),
        ClipModel("mobileclip2-b", "MobileCLIP2-B", "dfndr2b", MOBILECLIP2_LICENCE),
        ClipModel("mobileclip2-s3", "MobileCLIP2-S3", "dfndr2b", MOBILECLIP2_LICENCE),
        ClipModel("mobileclip2-s4", "MobileCLIP2-S4", "dfndr2b", MOBILECLIP2_LICENCE),
        ClipModel("mobileclip-s1", "MobileCLIP-S1", "datacompdr", MOBILECLIP_LICENCE),
        ClipModel("mobileclip-s2", "MobileCLIP-S2", "datacompdr", MOBILECLIP_LICENCE),
        ClipModel("mobileclip-b", "MobileCLIP-B", "datacompdr", MOBILECLIP_LICENCE),
    )
}
_YOLO_NAME = re.compile(r"^yolo(v8|11|12|26)[nsmlx]$")


def find_yolo(name: str) -> YoloModel | None:
    key = name.lower()
    return YoloModel(key) if _YOLO_NAME.match(key) else None


def find_clip(name: str, open_clip_names: list[str]) -> ClipModel | None:
    """A catalogued short name, or any name open_clip lists (its licence then is the user's to check)."""
    known = _CLIP_MODELS.get(name.lower())
    if known is not None:
        return known
    exact = {candidate.lower(): candidate for candidate in open_clip_names}.get(name.lower())
    if exact is None:
        return None
    return ClipModel(exact.lower(), exact, None, OTHER_CLIP_LICENCE)


def catalogued_names() -> list[str]:
    return [*_CLIP_MODELS, "yolo11n", "yolo11s", "yolo11m", "yolo26n", "yolo26s", "yolo26m"]
