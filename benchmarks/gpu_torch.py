"""GPU throughput of the production architectures in PyTorch: detect + embed images/s, text query.

    python benchmarks/gpu_torch.py [--batches 1,2,4,...,128] [--compiled-batches 32,64,128]
                                   [--variants fold+triton,...] [--objects 5] [--out results.json]

Runs where ONNX Runtime's CUDA/TensorRT providers are not installed but PyTorch is (as on the
lent GPU machines here). Weights are random (open_clip `MobileCLIP2-S2` pretrained=None and
ultralytics `yolo11s.yaml`): speed does not depend on them. Per batch of JPEGs: nvJPEG decode on the
GPU, letterbox to 640, YOLO11s forward (fp16), class-wise NMS, `--objects` boxes kept per image,
crops cut with roi_align to the CLIP image size, one MobileCLIP2 image-tower pass over images +
crops (fp16), L2-normalize; eager first, then through `torch.compile` (each of
`--compiled-batches` compiles once), then compiled with the next batch decoded on a side stream,
then each `--variants` tower (same vectors, cosine reported) compiled with prefetch.
Text query: tokenize + text tower (fp16) + cosine top-10 over 1M stored
vectors on the GPU, end to end.
"""

from __future__ import annotations

import argparse
import copy
import functools
import io
import json
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.io import decode_jpeg
from torchvision.ops import batched_nms, roi_align

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, percentiles_ms

DETECT_SIZE = 640
LAYOUTS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}


def sample_jpegs(count: int) -> list[torch.Tensor]:
    """`count` distinct 640x480 JPEGs made from random-textured gradients (no files needed)."""
    rng = np.random.default_rng(0)
    jpegs = []
    for _ in range(count):
        base = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
        pixels = np.clip(base + rng.normal(0, 40, (480, 640, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        jpegs.append(torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8))
    return jpegs


def build_models(device: torch.device, clip_layout: torch.memory_format) -> tuple[Any, Any, Any, int]:
    import open_clip
    from timm.utils.model import reparameterize_model
    from ultralytics import YOLO

    clip, _, _ = open_clip.create_model_and_transforms("MobileCLIP2-S2", pretrained=None)
    clip = reparameterize_model(clip.eval())  # inference form of the multi-branch blocks, as exported
    # channels_last lets cuDNN pick tensor-core kernels for the convolutions of both models.
    clip = clip.to(device, memory_format=clip_layout).half().eval()
    tokenizer = open_clip.get_tokenizer("MobileCLIP2-S2")
    yolo = YOLO("yolo11s.yaml").model.fuse(verbose=False)  # conv+batch-norm folded, as exported
    yolo = yolo.to(device, memory_format=torch.channels_last).half().eval()
    image_size = int(clip.visual.image_size[0] if hasattr(clip.visual, "image_size") else 256)
    return clip, tokenizer, yolo, image_size


def letterbox_batch(images: list[torch.Tensor]) -> torch.Tensor:
    """uint8 CHW images -> float16 (n, 3, 640, 640) in 0..1, aspect kept, grey padding.

    Images of one size are resized in one call, so a batch costs one kernel launch per distinct size.
    """
    out = torch.full((len(images), 3, DETECT_SIZE, DETECT_SIZE), 114 / 255, device=images[0].device,
                     dtype=torch.float16)  # fmt: skip
    by_shape: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        by_shape.setdefault((image.shape[1], image.shape[2]), []).append(i)
    for (h, w), indices in by_shape.items():
        scale = DETECT_SIZE / max(h, w)
        nh, nw = round(h * scale), round(w * scale)
        group = torch.stack([images[i] for i in indices]).half() / 255
        resized = F.interpolate(group, size=(nh, nw), mode="bilinear", align_corners=False)
        top, left = (DETECT_SIZE - nh) // 2, (DETECT_SIZE - nw) // 2
        out[indices, :, top : top + nh, left : left + nw] = resized
    return out


def top_boxes(raw: torch.Tensor, objects: int) -> torch.Tensor:
    """YOLO11 output (n, 84, anchors) -> (n*objects, 5) rows (batch index, x1, y1, x2, y2).

    One class-wise NMS over the whole batch (ids offset per image), then the best `objects` boxes of
    each image; images with fewer (random weights find little) get centre boxes, so every image
    costs the same number of crops.
    """
    n = raw.shape[0]
    predictions = raw.float().transpose(1, 2)  # (n, anchors, 84)
    scores, classes = predictions[..., 4:].max(dim=2)  # (n, anchors)
    top_scores, top_idx = scores.topk(min(300, scores.shape[1]), dim=1)  # (n, 300)
    picked = predictions.gather(1, top_idx[..., None].expand(-1, -1, 4))  # (n, 300, 4) cx, cy, w, h
    cx, cy, w, h = picked.unbind(-1)
    boxes = torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1).clamp(0, DETECT_SIZE)
    image_of = torch.arange(n, device=raw.device)[:, None].expand_as(top_scores)
    groups = image_of * 1000 + classes.gather(1, top_idx)
    keep = batched_nms(boxes.reshape(-1, 4), top_scores.reshape(-1), groups.reshape(-1), 0.45)
    kept_image = image_of.reshape(-1)[keep]
    order = torch.sort(kept_image, stable=True).indices  # by image, best score first within each
    keep, kept_image = keep[order], kept_image[order]
    first = torch.searchsorted(kept_image, torch.arange(n, device=raw.device))
    rank = torch.arange(len(keep), device=raw.device) - first[kept_image]
    chosen = torch.tensor([160.0, 160.0, 480.0, 480.0], device=raw.device).repeat(n, objects, 1)
    within = rank < objects
    chosen[kept_image[within], rank[within]] = boxes.reshape(-1, 4)[keep[within]]
    index_column = torch.arange(n, device=raw.device, dtype=torch.float32).repeat_interleave(objects)
    return torch.cat((index_column[:, None], chosen.reshape(-1, 4)), dim=1)


class ShiftedSumDepthwise(torch.nn.Module):
    """A depthwise k x k, stride-1 convolution written as the sum of k² shifted copies of the input,
    each scaled per channel. Same arithmetic as the convolution; under `torch.compile` Inductor
    fuses it into one memory-bound kernel with its neighbours, where cuDNN's channels-last
    depthwise 7x7 kernel took a quarter of the compiled image tower (H200, batch 384)."""

    def __init__(self, conv: torch.nn.Conv2d) -> None:
        super().__init__()
        self.size, self.pad = conv.kernel_size[0], int(conv.padding[0])  # type: ignore[arg-type]
        self.register_buffer("weight", conv.weight.detach()[:, 0].clone())  # (channels, k, k)
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        padded = F.pad(x, (self.pad,) * 4)
        out = self.bias.view(1, -1, 1, 1) if self.bias is not None else 0
        for i in range(self.size):
            for j in range(self.size):
                out = out + padded[:, :, i : i + height, j : j + width] * self.weight[:, i, j].view(
                    1, -1, 1, 1
                )
        return out  # type: ignore[return-value]


def is_same_depthwise(conv: torch.nn.Module, min_kernel: int = 5) -> bool:
    """A depthwise convolution (one output per input channel), stride 1, 'same' padding."""
    return (isinstance(conv, torch.nn.Conv2d) and conv.groups == conv.in_channels == conv.out_channels
            and conv.kernel_size[0] >= min_kernel and conv.stride == (1, 1)
            and conv.padding == (conv.kernel_size[0] // 2,) * 2)  # fmt: skip


def with_depthwise(visual: torch.nn.Module, replacement: Any, select: Any) -> torch.nn.Module:
    """A copy of `visual` whose convolutions for which `select(conv)` holds are `replacement(conv)`
    (ShiftedSumDepthwise, or depthwise_triton.TritonDepthwise)."""
    visual = copy.deepcopy(visual)
    for parent in list(visual.modules()):
        for name, child in parent.named_children():
            if select(child):
                setattr(parent, name, replacement(child))
    return visual


def fold_conv_norms(visual: torch.nn.Module) -> torch.nn.Module:
    """A copy of `visual` whose conv -> batch-norm pairs (timm `ConvNormAct` without activation: the
    depthwise 7x7 of every ConvMlp) are one convolution with a bias, as `fuse_conv_bn_eval` folds
    them. Compiled, the tower then skips one read and write of each such layer's output."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    visual = copy.deepcopy(visual)
    for module in visual.modules():
        conv, norm = getattr(module, "conv", None), getattr(module, "bn", None)
        if not (isinstance(conv, torch.nn.Conv2d) and isinstance(norm, torch.nn.BatchNorm2d)):
            continue
        if any(not isinstance(getattr(norm, name, torch.nn.Identity()), torch.nn.Identity)
               for name in ("act", "drop")):  # fmt: skip
            continue
        module.conv = fuse_conv_bn_eval(conv, norm)
        module.bn = torch.nn.Identity()
    return visual


# Inductor options of the `autotune` step: 1x1 convolutions as matrix products, whose tile shapes
# Inductor then benchmarks (Triton templates among cuBLAS), fusing bias, GELU and residual adds into
# them instead of separate pointwise kernels. Compiling takes minutes, not seconds.
AUTOTUNE_OPTIONS: dict[str, Any] = {"max_autotune": True, "conv_1x1_as_mm": True}


def tower_variant(name: str, visual: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The image tower for `--variants` NAME and its `torch.compile` options: '+'-joined steps,
    applied left to right. fold: conv + batch norm folded; shifted: stride-1 depthwise 7x7 as shifted
    sums; triton: the 7x7 depthwise-like convolutions (stride 1, and the stride-2 downsampling ones
    with two outputs per channel) by the Triton kernel; triton3: the 3x3 ones too; autotune:
    AUTOTUNE_OPTIONS; freeze: Inductor's `freezing` (weights folded as constants)."""
    options: dict[str, Any] = {}
    for step in name.split("+"):
        if step == "fold":
            visual = fold_conv_norms(visual)
        elif step == "shifted":
            visual = with_depthwise(visual, ShiftedSumDepthwise, is_same_depthwise)
        elif step in ("triton", "triton3"):
            from depthwise_triton import TritonDepthwise, is_depthwise_like

            select = functools.partial(is_depthwise_like, min_kernel=3 if step == "triton3" else 5)
            visual = with_depthwise(visual, TritonDepthwise, select)
        elif step == "autotune":
            options.update(AUTOTUNE_OPTIONS)
        elif step == "freeze":  # weights as constants: Inductor folds batch norms, pre-lays-out weights
            options["freezing"] = True
        else:
            raise SystemExit(f"unknown tower variant step {step!r} in {name!r}")
    return visual, options


class Towers:
    """The two forward passes a batch needs, eager or through `torch.compile` (fixed shapes)."""

    def __init__(self, clip: Any, yolo: Any, compiled: bool, clip_layout: torch.memory_format,
                 visual: torch.nn.Module | None = None, tower_options: dict[str, Any] | None = None,
                 ) -> None:  # fmt: skip
        self.clip_layout = clip_layout
        visual = visual if visual is not None else clip.visual
        compile_tower = functools.partial(torch.compile, dynamic=False, options=tower_options or None)
        self.clip_visual = compile_tower(visual) if compiled else visual
        self.yolo = torch.compile(yolo, dynamic=False) if compiled else yolo

    def detect(self, letterboxed: torch.Tensor) -> torch.Tensor:
        raw = self.yolo(letterboxed)
        return raw[0] if isinstance(raw, (list, tuple)) else raw

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.clip_visual(images.contiguous(memory_format=self.clip_layout))


@torch.inference_mode()
def prepare(batch: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """JPEG bytes -> letterboxed channels-last float16 batch on the GPU (nvJPEG decode)."""
    decoded = decode_jpeg(batch, device=device)
    return letterbox_batch(decoded).contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def infer(letterboxed: torch.Tensor, towers: Towers, image_size: int, objects: int) -> torch.Tensor:
    boxes = top_boxes(towers.detect(letterboxed), objects).to(letterboxed.dtype)
    crops = roi_align(letterboxed, boxes, output_size=(image_size, image_size), aligned=True)
    whole = F.interpolate(letterboxed, size=(image_size, image_size), mode="bilinear", align_corners=False)
    vectors = towers.embed(torch.cat((whole, crops)))
    return F.normalize(vectors.float(), dim=-1)


class Prefetcher:
    """Decodes and letterboxes the next batch on a side stream while the current one is analysed."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.stream = torch.cuda.Stream(device)
        self.pool = ThreadPoolExecutor(max_workers=1)

    def _prepare(self, batch: list[torch.Tensor]) -> tuple[torch.Tensor, torch.cuda.Event]:
        with torch.cuda.stream(self.stream):
            letterboxed = prepare(batch, self.device)
            done = torch.cuda.Event()
            done.record(self.stream)
        return letterboxed, done

    def submit(self, batch: list[torch.Tensor]) -> Future[tuple[torch.Tensor, torch.cuda.Event]]:
        return self.pool.submit(self._prepare, batch)

    @staticmethod
    def take(pending: Future[tuple[torch.Tensor, torch.cuda.Event]]) -> torch.Tensor:
        letterboxed, done = pending.result()
        torch.cuda.current_stream().wait_event(done)
        letterboxed.record_stream(torch.cuda.current_stream())
        return letterboxed


@torch.inference_mode()
def stage_breakdown(batch: list[torch.Tensor], towers: Towers, image_size: int, objects: int,
                    device: torch.device, repeats: int = 5) -> dict[str, float]:  # fmt: skip
    """Milliseconds per stage for one batch (synchronized between stages, so a little pessimistic)."""
    totals: dict[str, float] = {}

    def mark(name: str, started: float) -> float:
        torch.cuda.synchronize()
        now = time.perf_counter()
        totals[name] = totals.get(name, 0.0) + (now - started) * 1000 / repeats
        return now

    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        decoded = decode_jpeg(batch, device=device)
        t = mark("decode_jpeg", t)
        letterboxed = letterbox_batch(decoded).contiguous(memory_format=torch.channels_last)
        t = mark("letterbox", t)
        raw = towers.detect(letterboxed)
        t = mark("yolo", t)
        boxes = top_boxes(raw, objects).to(letterboxed.dtype)
        t = mark("nms_topk", t)
        crops = roi_align(letterboxed, boxes, output_size=(image_size, image_size), aligned=True)
        whole = F.interpolate(
            letterboxed, size=(image_size, image_size), mode="bilinear", align_corners=False
        )
        images = torch.cat((whole, crops))
        t = mark("crops", t)
        towers.embed(images)
        mark("clip_image_tower", t)
    return {name: round(ms, 2) for name, ms in totals.items()}


def time_batches(
    args: argparse.Namespace, towers: Towers, image_size: int, device: torch.device, batches: list[int],
    prefetch: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    """Images/s per batch size; with `prefetch`, batch n+1 is decoded while batch n is analysed."""
    jpegs = sample_jpegs(max(batches, default=0))
    prefetcher = Prefetcher(device) if prefetch else None
    results = []
    for batch_size in batches:
        batch = jpegs[:batch_size]
        warm_started = time.perf_counter()
        for _ in range(3):  # the first call of a compiled shape compiles it
            infer(prepare(batch, device), towers, image_size, args.objects)
        torch.cuda.synchronize()
        warm_up_s = time.perf_counter() - warm_started
        runs, started = 0, time.perf_counter()
        pending = prefetcher.submit(batch) if prefetcher else None
        while time.perf_counter() - started < args.seconds:
            if prefetcher and pending:
                letterboxed = prefetcher.take(pending)
                pending = prefetcher.submit(batch)
            else:
                letterboxed = prepare(batch, device)
            infer(letterboxed, towers, image_size, args.objects)
            runs += 1
        torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        if pending:
            pending.result()
        results.append({"batch": batch_size, "images_per_s": round(runs * batch_size / elapsed, 1),
                        "ms_per_batch": round(elapsed * 1000 / runs, 2),
                        "warm_up_s": round(warm_up_s, 1)})  # fmt: skip
        print(results[-1], flush=True)
    return results


def top_kernels(towers: Towers, images: torch.Tensor, count: int = 12) -> list[dict[str, Any]]:
    """The image tower's costliest GPU kernels over one pass (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), profile(activities=[ProfilerActivity.CUDA]) as prof:
        towers.embed(images)
        torch.cuda.synchronize()
    events = sorted(prof.key_averages(), key=lambda e: e.device_time_total, reverse=True)
    return [{"kernel": e.key[:120], "calls": e.count, "ms": round(e.device_time_total / 1000, 2)}
            for e in events[:count]]  # fmt: skip


@torch.inference_mode()
def time_text_queries(clip: Any, tokenizer: Any, device: torch.device, stored: int) -> dict[str, Any]:
    dim = clip.text_projection.shape[1] if hasattr(clip, "text_projection") else 512
    store = F.normalize(torch.randn(stored, dim, device=device, dtype=torch.float16), dim=-1)
    queries = [f"a photo of a {word} on a table" for word in ("cat", "dog", "cup", "bus", "bike")] * 40
    latencies = []
    for i, query in enumerate(queries):
        started = time.perf_counter()
        tokens = tokenizer([query]).to(device)
        vector = F.normalize(clip.encode_text(tokens).half(), dim=-1)
        _scores, ids = (store @ vector[0]).topk(10)
        ids.cpu()
        if i >= 10:  # warm-up excluded
            latencies.append(time.perf_counter() - started)
    return {"stored_vectors": stored, **percentiles_ms(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default="1,2,4,8,16,32,64,128")
    parser.add_argument(
        "--compiled-batches",
        default="32,64,128",
        help="batch sizes also run through torch.compile (each shape compiles once)",
    )
    parser.add_argument("--objects", type=int, default=5)
    parser.add_argument(
        "--variants",
        default="",
        help="comma-separated image-tower variants also run compiled + prefetched, each a '+'-joined "
        "list of steps: fold (conv + batch norm folded), shifted (depthwise 7x7 as shifted sums), "
        "triton (depthwise 7x7 by benchmarks/depthwise_triton.py), triton3 (3x3 too), autotune "
        "(Inductor max-autotune with 1x1 convolutions as matrix products), freeze (Inductor freezing); "
        "e.g. triton,fold+triton",
    )
    parser.add_argument("--shifted-depthwise", action="store_true", help="same as --variants shifted")
    parser.add_argument(
        "--clip-layout",
        choices=LAYOUTS,
        default="channels_last",
        help="memory layout of the image tower (the detector is always channels-last)",
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_torch.json")
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",") if b]
    variants = [v for v in args.variants.split(",") if v] + (["shifted"] if args.shifted_depthwise else [])
    compiled_batches = [int(b) for b in args.compiled_batches.split(",") if b]
    os.environ.setdefault("YOLO_OFFLINE", "1")
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    clip_layout = LAYOUTS[args.clip_layout]
    clip, tokenizer, yolo, image_size = build_models(device, clip_layout)
    figures: dict[str, Any] = {
        "benchmark": "gpu_torch",
        "command": "python " + " ".join(sys.argv),
        "machine": {**machine_info(), "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__},
        "models": "MobileCLIP2-S2 + YOLO11s, random weights, fp16",
        "objects_per_image": args.objects,
        "clip_layout": args.clip_layout,
        "tower_gflop_per_image": round(tower_gflop(clip, image_size), 2),
    }

    def save() -> None:  # after every phase, so a run cut short still leaves its figures
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")

    eager = Towers(clip, yolo, compiled=False, clip_layout=clip_layout)
    probe = sample_jpegs(64)
    figures["text_query_end_to_end"] = time_text_queries(clip, tokenizer, device, args.stored)
    figures["eager"] = time_batches(args, eager, image_size, device, args.batches, prefetch=False)
    figures["eager_stage_ms_at_batch_64"] = stage_breakdown(probe, eager, image_size, args.objects, device)
    save()
    if compiled_batches:
        compiled = Towers(clip, yolo, compiled=True, clip_layout=clip_layout)
        figures["compiled"] = time_batches(
            args, compiled, image_size, device, compiled_batches, prefetch=False
        )
        save()
        figures["compiled_prefetch"] = time_batches(
            args, compiled, image_size, device, compiled_batches, prefetch=True
        )
        figures["compiled_stage_ms_at_batch_64"] = stage_breakdown(
            probe, compiled, image_size, args.objects, device
        )
        save()
        tower_input = torch.randn(64 * (1 + args.objects), 3, image_size, image_size, device=device)
        tower_input = tower_input.half().contiguous(memory_format=torch.channels_last)
        figures["compiled_tower_top_kernels_at_batch_64"] = top_kernels(compiled, tower_input)
        save()

        def run_variant(name: str) -> None:
            # Each variant recompiles the same forward code; past Dynamo's recompile limit it would
            # silently run eager, so the compiled baseline's cache is cleared first.
            torch._dynamo.reset()
            visual, options = tower_variant(name, clip.visual)
            towers = Towers(clip, yolo, True, clip_layout, visual=visual, tower_options=options)
            with torch.inference_mode():
                reference = F.normalize(eager.embed(tower_input).float(), dim=-1)
                found = F.normalize(towers.embed(tower_input).float(), dim=-1)
            figures[f"{name}_vs_conv_cosine_min"] = round(float((reference * found).sum(-1).min()), 6)
            figures[f"compiled_{name}_prefetch"] = time_batches(
                args, towers, image_size, device, compiled_batches, prefetch=True
            )
            figures[f"compiled_{name}_stage_ms_at_batch_64"] = stage_breakdown(
                probe, towers, image_size, args.objects, device
            )
            save()
            figures[f"compiled_{name}_tower_top_kernels_at_batch_64"] = top_kernels(towers, tower_input)

        for name in variants:
            try:
                run_variant(name)
            except Exception as error:  # one failing variant must not cost the others their run
                figures[f"compiled_{name}_error"] = f"{type(error).__name__}: {error}"[:2000]
                print(figures[f"compiled_{name}_error"], flush=True)
            save()
    print(json.dumps(figures, indent=2))


def tower_gflop(clip: Any, image_size: int) -> float:
    """Image-tower arithmetic per image (multiply-add = 2 FLOPs), counted by torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    image = torch.zeros(1, 3, image_size, image_size, device=next(clip.parameters()).device,
                        dtype=torch.float16).contiguous(memory_format=torch.channels_last)  # fmt: skip
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        clip.visual(image)
    return counter.get_total_flops() / 1e9


if __name__ == "__main__":
    main()
