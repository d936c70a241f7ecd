"""open_clip model -> embedder/ directory: image and text encoders as ONNX, vocabulary, manifest."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import open_clip
import torch
from open_clip.tokenizer import SimpleTokenizer
from timm.utils.model import reparameterize_model

from pixseek.export.catalog import ClipModel, find_clip
from pixseek.export.onnx_export import export_batch_dynamic
from pixseek.export.parity import check_parity, run_onnx
from pixseek.models.pack_manifest import (
    MANIFEST_FILE,
    EmbedderManifest,
    ImageInputSpec,
    OnnxGraph,
    TokenizerSpec,
    file_sha256,
    write_spec,
)

IMAGE_ENCODER_FILE = "image_encoder.onnx"
TEXT_ENCODER_FILE = "text_encoder.onnx"
# Texts for the parity check: short, long (truncated), punctuation and non-ASCII.
_CHECK_TEXTS = ["a photo of a cat", "two dogs, running!", "café au lait", "x " * 100]
_PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")


@dataclass(frozen=True)
class ClipWeights:
    """Exactly one source: random initialisation, a local open_clip checkpoint, or the hub tag."""

    random: bool = False
    checkpoint: Path | None = None
    pretrained_tag: str | None = None


class _ImageTower(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(images, normalize=True)


class _TextTower(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokens, normalize=True)


def resolve_clip(name: str) -> ClipModel:
    found = find_clip(name, open_clip.list_models())
    if found is None:
        raise ValueError(f"unknown CLIP model {name!r}: not in pixseek's catalogue nor open_clip's list")
    return found


def export_clip(name: str, out_dir: Path, weights: ClipWeights) -> EmbedderManifest:
    entry = resolve_clip(name)
    model, weights_label = _build(entry, weights)
    tokenizer = open_clip.get_tokenizer(entry.open_clip_name)
    if not isinstance(tokenizer, SimpleTokenizer) or tokenizer.reduction_fn is not None:
        raise ValueError(f"{entry.open_clip_name} uses {type(tokenizer).__name__}; pixseek's runtime "
                         "tokenizer supports open_clip's CLIP BPE tokenizer only")  # fmt: skip
    preprocess = open_clip.get_model_preprocess_cfg(model)
    image_spec = _image_spec(preprocess)
    context_length = int(tokenizer.context_length)  # get_tokenizer sets it from the model config

    out_dir.mkdir(parents=True, exist_ok=True)
    images = _random_model_input(image_spec)
    tokens = tokenizer(_CHECK_TEXTS, context_length=context_length)
    image_graph, image_cosine = _export_tower(
        _ImageTower(model), images, out_dir / IMAGE_ENCODER_FILE, "images"
    )
    text_graph, text_cosine = _export_tower(_TextTower(model), tokens, out_dir / TEXT_ENCODER_FILE, "tokens")
    with torch.no_grad():
        dim = int(_TextTower(model)(tokens[:1]).shape[-1])

    vocab_file = Path(open_clip.tokenizer.default_bpe()).name
    shutil.copyfile(open_clip.tokenizer.default_bpe(), out_dir / vocab_file)
    manifest = EmbedderManifest(
        model_id=entry.model_id,
        source=f"open_clip:{entry.open_clip_name}",
        weights=weights_label,
        dim=dim,
        image=image_spec,
        image_encoder=image_graph,
        text_encoder=text_graph,
        tokenizer=TokenizerSpec(
            vocab_file=vocab_file, clean=_clean_mode(tokenizer), context_length=context_length
        ),
        licence=entry.licence,
        exported_with=_versions("torch", "open_clip_torch", "timm", "onnx"),
        parity={"image_encoder": image_cosine, "text_encoder": text_cosine},
    )
    write_spec(out_dir / MANIFEST_FILE, manifest)
    return manifest


def _build(entry: ClipModel, weights: ClipWeights) -> tuple[torch.nn.Module, str]:
    tag = weights.pretrained_tag or entry.pretrained_tag
    # Preprocessing (mean/std, resize) belongs to the trained weights, so take it from the tag's
    # settings even when the weights come from a local file or are random.
    tag_cfg = open_clip.get_pretrained_cfg(entry.open_clip_name, tag) if tag else {}
    forced = {key: tag_cfg[key] for key in _PREPROCESS_KEYS if key in tag_cfg}
    if weights.random:
        pretrained, label = None, "random"
    elif weights.checkpoint is not None:
        pretrained, label = str(weights.checkpoint), f"checkpoint:{file_sha256(weights.checkpoint)}"
    elif tag:
        pretrained, label = tag, f"pretrained:{tag}"
    else:
        raise ValueError(f"{entry.open_clip_name}: give --checkpoint, --pretrained-tag or --random-weights")
    model = open_clip.create_model(entry.open_clip_name, pretrained=pretrained, force_preprocess_cfg=forced)
    model.eval()
    # MobileCLIP's FastViT blocks train with parallel branches; fold them for inference.
    return reparameterize_model(model), label


def _export_tower(
    tower: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str
) -> tuple[OnnxGraph, float]:
    """Export, then check against PyTorch; the graph and its lowest cosine to PyTorch."""
    export_batch_dynamic(tower, example, path, input_name=input_name, output_name="embeddings")
    with torch.no_grad():
        reference = tower(example).numpy()
    cosine = check_parity(path.stem, reference, run_onnx(path, input_name, example.numpy()))
    graph = OnnxGraph(file=path.name, input=input_name, output="embeddings", sha256=file_sha256(path))
    return graph, cosine


def _random_model_input(spec: ImageInputSpec, count: int = 2) -> torch.Tensor:
    """Random images in 0..1, normalized as the runtime will normalize real ones."""
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (torch.rand(count, 3, spec.size, spec.size) - mean) / std


def _image_spec(preprocess: dict[str, Any]) -> ImageInputSpec:
    size = preprocess["size"]
    height, width = (size, size) if isinstance(size, int) else size
    if height != width:
        raise ValueError(f"non-square image input {width}x{height} is not supported")
    fill = preprocess.get("fill_color") or 0
    return ImageInputSpec(
        size=int(height),
        mean=tuple(float(v) for v in preprocess["mean"]),  # type: ignore[arg-type]
        std=tuple(float(v) for v in preprocess["std"]),  # type: ignore[arg-type]
        interpolation=str(preprocess.get("interpolation", "bicubic")),
        resize_mode=preprocess.get("resize_mode", "shortest"),
        fill=int(fill),
    )


def _clean_mode(tokenizer: SimpleTokenizer) -> Literal["lower", "whitespace"]:
    modes: tuple[Literal["lower", "whitespace"], ...] = ("lower", "whitespace")
    for mode in modes:
        if tokenizer.clean_fn is open_clip.tokenizer.get_clean_fn(mode):
            return mode
    raise ValueError("the model's tokenizer cleans text in a way pixseek's runtime does not implement")


def _versions(*packages: str) -> dict[str, str]:
    return {package: version(package) for package in packages} | {"numpy": np.__version__}
