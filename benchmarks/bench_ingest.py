"""Ingest throughput: the pipeline against a naive sequential loop, side by side, with a stage split.

    python benchmarks/bench_ingest.py [--images 32] [--rounds 3] [--pack starter|DIR] [--min-objects K]
                                      [--engines onnxruntime,openvino | opencv,openvino]
                                      [--variants naive,pipeline]

Variants, each into a fresh store, over the same generated images and the same models (ONNX packs:
the naive loop's sessions use one thread per CPU, the pipeline's `--pipeline-onnx-threads`):
  naive        decode -> detect -> embed the image, then each crop one at a time -> one write per image
  pipeline_w1  the pipeline with one analysis worker (one analyze call per batch: the earlier design)
  pipeline     the pipeline as shipped (one analysis worker per core)
With `--engines`, every variant runs on each engine (`PIXSEEK_ONNX_ENGINE` for an exported pack,
`PIXSEEK_STARTER_DETECTOR_ENGINE` for the starter); they are named `variant@engine`, and the vectors
of the engines are compared (cosine to the first).
Rounds rotate the order of the variants and ratios are taken within a round, because the machine
is shared: the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Stopwatch, write_result
from ingest_support import load_average, make_images, padded_pack
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.index.protocol import ImageRecord, ObjectRecord
from pixseek.ingest.decode import decode_image
from pixseek.ingest.folder import index_paths
from pixseek.ingest.pipeline import Ingestor, content_id
from pixseek.models.loader import load_pack
from pixseek.models.preprocess import crop_with_context
from pixseek.models.protocols import ModelPack

KINDS = ("naive", "pipeline_w1", "pipeline")


def naive_ingest(engine: Engine, paths: list[Path]) -> dict[str, float]:
    """One image at a time, one crop at a time, one write per image: the baseline."""
    pack, stages = engine.pack, {"decode": 0.0, "detect": 0.0, "embed": 0.0, "write": 0.0}
    for path in paths:
        t0 = time.perf_counter()
        data = path.read_bytes()
        decoded = decode_image(data, engine.settings.max_image_pixels)
        t1 = time.perf_counter()
        detections = [d for d in pack.detector.detect([decoded.rgb])[0] if d.confidence >= 0.3][:50]
        t2 = time.perf_counter()
        image_vector = pack.image_embedder.embed_images([decoded.rgb])[0]
        object_vectors = [
            pack.image_embedder.embed_images([crop_with_context(decoded.rgb, d.box, 0.1)])[0]
            for d in detections
        ]
        t3 = time.perf_counter()
        record = ImageRecord(
            content_id(data), str(path), path.name, decoded.width, decoded.height,
            decoded.captured_at, datetime.now(UTC), (), tuple(detections), image_vector,
        )  # fmt: skip
        objects = [
            ObjectRecord(i, d, v) for i, (d, v) in enumerate(zip(detections, object_vectors, strict=True))
        ]
        engine.store.upsert([(record, objects)])
        t4 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[name] += seconds
    return stages


def run_variant(variant: str, pack: ModelPack, paths: list[Path], db: Path, batch: int) -> dict[str, object]:
    engine = Engine.open(Settings(db=db), pack=pack)
    workers = 1 if variant.startswith("pipeline_w1") else None
    ingestor = Ingestor(
        pack, engine.store, engine.media, engine.settings.max_image_pixels, analyze_workers=workers
    )
    cpu0 = time.process_time()
    with Stopwatch() as clock:
        if variant.startswith("naive"):
            split = {k: round(v * 1000 / len(paths), 2) for k, v in naive_ingest(engine, paths).items()}
        else:
            report = index_paths(ingestor, paths, batch_size=batch, progress=False)
            assert report.indexed == len(paths), report
            t = ingestor.times
            split = {"read_decode (overlapped)": round(t.read_decode * 1000 / len(paths), 2),
                     "detect+embed": round(t.analyze * 1000 / len(paths), 2),
                     "write": round(t.write * 1000 / len(paths), 2)}  # fmt: skip
    cpu = time.process_time() - cpu0
    objects = engine.store.info().objects
    ingestor.close()
    engine.close()
    return {"seconds": clock.seconds, "cpu_seconds": cpu, "objects": objects, "stage_ms_per_image": split}


def summarize(rounds: list[dict[str, dict[str, object]]], n: int) -> dict[str, object]:
    """Per variant its median throughput; ratios within each round against the naive loop on the
    same engine and, with several engines, against the first engine's naive loop."""

    def median(variant: str, key: str) -> float:
        return statistics.median(float(r[variant][key]) for r in rounds)  # type: ignore[arg-type]

    def ratios(slow: str, fast: str) -> dict[str, object]:
        per_round = [float(r[slow]["seconds"]) / float(r[fast]["seconds"]) for r in rounds]  # type: ignore[arg-type]
        return {
            "median": round(statistics.median(per_round), 2),
            "per_round": [round(x, 2) for x in per_round],
        }

    variants = list(rounds[0])
    out: dict[str, object] = {}
    for variant in variants:
        seconds = median(variant, "seconds")
        out[variant] = {
            "images_per_s": round(n / seconds, 2),
            "cpu_ms_per_image": round(median(variant, "cpu_seconds") * 1000 / n, 1),
            "cores_busy": round(median(variant, "cpu_seconds") / seconds, 2),
            "stage_ms_per_image (last round)": rounds[-1][variant]["stage_ms_per_image"],
        }
    first_naive = next((v for v in variants if v.startswith("naive")), None)
    for variant in variants:
        kind, _, engine = variant.partition("@")
        naive = "naive" + (f"@{engine}" if engine else "")
        if kind != "naive" and naive in variants:
            out[f"speedup_{variant}_over_{naive}"] = ratios(naive, variant)
        if first_naive and engine and naive != first_naive:
            out[f"speedup_{variant}_over_{first_naive}"] = ratios(first_naive, variant)
    return out


def engine_agreement(packs: dict[str, ModelPack], paths: list[Path]) -> dict[str, object]:
    """Cosine between each engine's image vectors and the first engine's, over the bench images."""
    images = [decode_image(path.read_bytes(), Settings().max_image_pixels).rgb for path in paths]
    vectors = {name: pack.image_embedder.embed_images(images) for name, pack in packs.items()}
    reference_name, reference = next(iter(vectors.items()))
    return {
        f"{name}_vs_{reference_name}": {
            "min": round(float(np.min(np.sum(found * reference, axis=1))), 6),
            "mean": round(float(np.mean(np.sum(found * reference, axis=1))), 6),
        }
        for name, found in list(vectors.items())[1:]
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pack", default="starter")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--min-objects", type=int, default=0, help="pad detections (random-weight packs)")
    parser.add_argument("--name", default=None, help="results file name (default ingest_<pack>)")
    parser.add_argument(
        "--pipeline-onnx-threads", type=int, default=1,
        help="ONNX Runtime threads per call in the pipeline variants, as `pixseek index` sets them "
        "(0: one per CPU, the naive loop's setting); starter pack: no effect",
    )  # fmt: skip
    parser.add_argument(
        "--engines", default="",
        help="comma-separated engines: ONNX engines for an exported pack (onnxruntime,openvino), "
        "detector engines for the starter pack (opencv,openvino)",
    )  # fmt: skip
    parser.add_argument("--variants", default=",".join(KINDS))
    parser.add_argument(
        "--warmup-rounds", type=int, default=1,
        help="untimed rounds first: OpenVINO prepares each new batch shape on first use (~0.3 s)",
    )  # fmt: skip
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e] or [None]
    kinds = [k for k in args.variants.split(",") if k]
    packs: dict[str, ModelPack] = {}  # by variant; one pack per (engine, threads)
    loaded: dict[tuple[str | None, int], ModelPack] = {}
    for engine in engines:
        for kind in kinds:
            threads = 0 if kind == "naive" else args.pipeline_onnx_threads
            if (engine, threads) not in loaded:
                engine_setting = "starter_detector_engine" if args.pack == "starter" else "onnx_engine"
                settings = Settings(
                    models=args.pack, onnx_threads=threads, **({engine_setting: engine} if engine else {})
                )
                pack = load_pack(settings)
                loaded[engine, threads] = padded_pack(pack, args.min_objects) if args.min_objects else pack
                loaded[engine, threads].warmup()
            packs[kind + (f"@{engine}" if engine and len(engines) > 1 else "")] = loaded[engine, threads]
    variants = list(packs)
    pack = next(iter(packs.values()))
    load_before = load_average()
    rounds: list[dict[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "images").mkdir()
        paths = make_images(workdir / "images", args.images)
        for number in range(args.warmup_rounds):
            for v in variants:
                run_variant(v, packs[v], paths, workdir / f"warm-{v}-{number}", args.batch_size)
        for number in range(args.rounds):
            shift = number % len(variants)
            order = variants[shift:] + variants[:shift]
            done = {
                v: run_variant(v, packs[v], paths, workdir / f"{v}-{number}", args.batch_size) for v in order
            }
            rounds.append({v: done[v] for v in variants})
            print(
                f"round {number}: " + ", ".join(f"{v} {done[v]['seconds']:.1f}s" for v in variants),
                flush=True,
            )
        agreement = (
            engine_agreement({str(e): p for (e, _), p in loaded.items()}, paths) if len(engines) > 1 else None
        )
    figures: dict[str, object] = {
        "pack": pack.info.model_id,
        "images": args.images,
        "objects": rounds[-1][variants[0]]["objects"],
        "engines": [
            pack.info.extra.get("providers") or pack.info.extra.get("detector_engine", "")
            for pack in packs.values()
        ],
        "padded_to_min_objects": args.min_objects,
        "batch_size": args.batch_size,
        "pipeline_onnx_threads": args.pipeline_onnx_threads,
        "rounds": args.rounds,
        "warmup_rounds": args.warmup_rounds,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        **summarize(rounds, args.images),
    }
    if agreement:
        figures["image_vector_cosine"] = agreement
    name = args.name or f"ingest_{'starter' if args.pack == 'starter' else Path(args.pack).name}"
    print(write_result(name, figures).read_text())


if __name__ == "__main__":
    main()
