"""Triton vs in-process ONNX Runtime: analyze (detect + embed) and text queries under concurrency.

    python benchmarks/bench_triton.py --pack DIR [--concurrency 1,4,8,16,32] [--url HOST:PORT]

Without --url it writes a python-flavour repository for the pack and starts the CPU tritonserver
of .venv-triton (scripts/setup-triton-env.sh). Each level sends `max(--min-requests, 2 x level)`
single-image analyze requests (one photo, `--objects` boxes kept per image) from that many
threads, then the same for text queries; Triton's own statistics give the batch sizes it formed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentiles_ms, write_result
from pixseek.config import Settings
from pixseek.ingest.decode import decode_image
from pixseek.models.onnx_pack import load_onnx_pack
from pixseek.models.pack_manifest import ModelPackFiles
from pixseek.models.protocols import ModelPack
from pixseek.models.triton_pack import TritonModelPack
from pixseek.samples import sample_images
from pixseek.triton.repository import RepositoryOptions, write_repository
from pixseek.triton.server import DEFAULT_VENV, free_ports, start, stop_process

QUERIES = ("a cat", "a red car on a highway", "people on a beach", "a cup of coffee", "a rocket launch")


def run_level(call: Callable[[int], object], concurrency: int, requests: int) -> dict[str, Any]:
    """Send `requests` calls from `concurrency` threads; latency percentiles and throughput."""

    def timed(index: int) -> float:
        started = time.perf_counter()
        call(index)
        return time.perf_counter() - started

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(timed, range(requests)))
    except Exception as error:  # e.g. a client deadline on an overloaded machine: keep the rest
        return {"error": f"{type(error).__name__}: {error}", "requests": requests}
    elapsed = time.perf_counter() - started
    return {**percentiles_ms(latencies), "requests": requests, "req_per_s": round(requests / elapsed, 2)}


def batch_counts(pack: TritonModelPack) -> dict[str, dict[int, int]]:
    """Per model, how many executions ran at each batch size (cumulative since server start)."""
    stats = pack.models.client.get_inference_statistics(as_json=True).get("model_stats", [])
    counts: dict[str, dict[int, int]] = {}
    for model in stats:
        sizes = {
            int(entry["batch_size"]): int(entry.get("compute_infer", {}).get("count", 0))
            for entry in model.get("batch_stats", [])
        }
        counts[model["name"]] = sizes
    return counts


def observed_batches(before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]) -> dict[str, Any]:
    """Executions per batch size during one level, and the mean batch size, per model."""
    observed: dict[str, Any] = {}
    for model, sizes in after.items():
        delta = {size: count - before.get(model, {}).get(size, 0) for size, count in sizes.items()}
        delta = {size: count for size, count in sorted(delta.items()) if count > 0}
        if delta:
            executions = sum(delta.values())
            mean = sum(size * count for size, count in delta.items()) / executions
            observed[model] = {"executions_by_batch_size": delta, "mean_batch_size": round(mean, 2)}
    return observed


def bench_backend(
    name: str,
    pack: ModelPack,
    image: np.ndarray,
    levels: list[int],
    min_requests: int,
    rows: list[dict[str, Any]],
    save: Callable[[], object],
) -> None:
    """Append a row per level and workload to `rows`, saving after each (long runs keep partials)."""
    for level in levels:
        requests = max(min_requests, 2 * level)
        for workload, call in (
            ("analyze", lambda _: pack.analyzer.analyze([image])),
            ("text", lambda i: pack.text_embedder.embed_texts([f"{QUERIES[i % len(QUERIES)]} {i}"])),
        ):
            before = batch_counts(pack) if isinstance(pack, TritonModelPack) else {}
            figures = run_level(call, level, requests)
            row: dict[str, Any] = {"backend": name, "workload": workload, "concurrency": level, **figures}
            if isinstance(pack, TritonModelPack):
                row["observed_batches"] = observed_batches(before, batch_counts(pack))
            print(row, flush=True)
            rows.append(row)
            save()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pack", type=Path, required=True, help="exported pack directory")
    parser.add_argument("--concurrency", default="1,4,8,16,32")
    parser.add_argument("--min-requests", type=int, default=16)
    parser.add_argument("--objects", type=int, default=5, help="boxes kept per image")
    parser.add_argument("--url", help="an already running Triton serving this pack (gRPC host:port)")
    parser.add_argument("--name", default="triton_vs_inprocess", help="results/<name>.json")
    parser.add_argument("--timeout", type=float, default=900.0, help="per-request client deadline, s")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    # Random-weight packs score every box near zero: a zero floor keeps exactly --objects boxes.
    settings = Settings(models=str(args.pack), min_detection_confidence=0.0,
                        max_objects_per_image=args.objects, onnx_providers="cpu")  # fmt: skip
    photo = next(path for path in sample_images() if path.stem == "chelsea")
    image = decode_image(photo.read_bytes(), settings.max_image_pixels).rgb

    local = load_onnx_pack(args.pack, settings)
    local.warmup()
    rows: list[dict[str, Any]] = []

    def save() -> Path:
        return write_result(args.name, {
            "pack": local.info.model_id,
            "image": f"{photo.name} {image.shape[1]}x{image.shape[0]}",
            "objects_per_image": args.objects,
            "rows": rows,
        })  # fmt: skip

    bench_backend("in-process onnxruntime", local, image, levels, args.min_requests, rows, save)

    server = None
    with tempfile.TemporaryDirectory() as work:
        url = args.url
        if url is None:
            ports = free_ports()
            write_repository(args.pack, Path(work) / "repo", RepositoryOptions(onnx_providers="cpu"))
            server = start(Path(work) / "repo", DEFAULT_VENV, Path(work) / "state", ports)
            url = ports.grpc_url
        try:
            served_settings = settings.model_copy(update={"triton_url": url})
            served = TritonModelPack(ModelPackFiles(args.pack), served_settings, timeout_s=args.timeout)
            served.warmup()
            bench_backend(
                "triton (python backend, CPU)", served, image, levels, args.min_requests, rows, save
            )
        finally:
            if server is not None:
                stop_process(server.pid)
    print(f"wrote {save()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
