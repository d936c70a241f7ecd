"""GPU throughput of an exported pack in-process: detect + embed images/s and text-query latency.

    python benchmarks/gpu.py --pack DIR [--providers tensorrt,cuda,cpu] [--batches 1,2,4,...,128]

Needs onnxruntime-gpu (CUDA and, for `tensorrt`, TensorRT libraries on the library path). For
each execution provider: per batch size, `analyze` on that many images keeping `--objects` boxes
per image (so every image costs one detector pass and 1 + objects embeddings); then single text
queries. TensorRT engines are cached under --trt-cache, so the first run of each shape is slow
and excluded by the warm-up. Writes benchmarks/results/<--name>.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentiles_ms, write_result
from pixseek.config import Settings
from pixseek.ingest.decode import decode_image
from pixseek.models.onnx_pack import OnnxModelPack
from pixseek.models.onnx_session import CPU, CUDA, Provider
from pixseek.models.pack_manifest import ModelPackFiles
from pixseek.samples import sample_images
from pixseek.triton.tensorrt import PlanSpec, plan_specs

TENSORRT = "TensorrtExecutionProvider"


def provider_chains(name: str, files: ModelPackFiles, trt_cache: Path) -> dict[str, list[Provider]] | None:
    """Per graph, the ONNX Runtime providers for a short name; None when this build lacks them."""
    available = ort.get_available_providers()
    roles = [spec.model for spec in plan_specs(files)]
    if name == "cpu":
        return {role: [CPU] for role in roles}
    if name == "cuda":
        return {role: [CUDA, CPU] for role in roles} if CUDA in available else None
    if name == "tensorrt":
        if TENSORRT not in available:
            return None
        trt_cache.mkdir(parents=True, exist_ok=True)
        # One profile per graph over the batch axis, as `pixseek triton trt-build` builds: without
        # it TensorRT would build an engine for every new batch size.
        return {
            spec.model: [(TENSORRT, tensorrt_options(spec, trt_cache)), CUDA, CPU]
            for spec in plan_specs(files)
        }
    raise ValueError(f"unknown provider {name!r}")


def tensorrt_options(spec: PlanSpec, trt_cache: Path) -> dict[str, object]:
    return {
        "trt_fp16_enable": True,
        "trt_engine_cache_enable": True,
        "trt_engine_cache_path": str(trt_cache),
        "trt_profile_min_shapes": f"{spec.input_name}:{spec.shape(spec.min_batch)}",
        "trt_profile_opt_shapes": f"{spec.input_name}:{spec.shape(spec.opt_batch)}",
        "trt_profile_max_shapes": f"{spec.input_name}:{spec.shape(spec.max_batch)}",
    }


def test_images(count: int) -> list[np.ndarray]:
    """`count` photos: the package-shipped samples, cycled, each slightly cropped to differ."""
    photos = [decode_image(path.read_bytes(), 64_000_000).rgb for path in sample_images()]
    return [photos[i % len(photos)][i % 7 :, i % 5 :] for i in range(count)]


def bench_provider(pack: OnnxModelPack, batches: list[int], repeats: int, queries: int) -> dict[str, Any]:
    images = test_images(max(batches))
    rows = []
    for batch in batches:
        pack.analyzer.analyze(images[:batch])  # warm-up: engines, allocations, shapes
        seconds = []
        boxes = 0
        for _ in range(repeats):
            started = time.perf_counter()
            analyses = pack.analyzer.analyze(images[:batch])
            seconds.append(time.perf_counter() - started)
            boxes = sum(len(a.detections) for a in analyses)
        median = float(np.median(seconds))
        row = {"batch": batch, "images_per_s": round(batch / median, 2),
               "median_batch_ms": round(median * 1000, 2), "boxes_per_image": boxes / batch}  # fmt: skip
        print(row, flush=True)
        rows.append(row)
    pack.text_embedder.embed_texts(["warm up"])
    latencies = []
    for i in range(queries):
        started = time.perf_counter()
        pack.text_embedder.embed_texts([f"a photo of thing number {i}"])
        latencies.append(time.perf_counter() - started)
    return {"analyze": rows, "text_query": percentiles_ms(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--providers", default="tensorrt,cuda,cpu")
    parser.add_argument("--batches", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--objects", type=int, default=5, help="boxes kept per image")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--trt-cache", type=Path, default=Path(".work/trt-cache"))
    parser.add_argument("--name", default="gpu")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    # A zero floor keeps exactly --objects boxes even from random-weight packs.
    settings = Settings(models=str(args.pack), min_detection_confidence=0.0,
                        max_objects_per_image=args.objects)  # fmt: skip
    files = ModelPackFiles(args.pack)
    results: dict[str, Any] = {}
    for name in args.providers.split(","):
        chains = provider_chains(name, files, args.trt_cache)
        if chains is None:
            print(f"{name}: not available in this onnxruntime build, skipped", flush=True)
            results[name] = "unavailable"
            continue
        print(f"== {name}", flush=True)
        pack = OnnxModelPack(files, settings, providers=chains)
        results[name] = {"providers": pack.info.extra.get("providers"),
                         **bench_provider(pack, batches, args.repeats, args.queries)}  # fmt: skip
    path = write_result(args.name, {
        "pack": files.model_id,
        "onnxruntime": ort.__version__,
        "available_providers": ort.get_available_providers(),
        "objects_per_image": args.objects,
        "results": results,
    })  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
