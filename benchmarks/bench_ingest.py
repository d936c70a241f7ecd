"""Ingest throughput: the pipeline against a naive sequential loop, side by side, with a stage split.

    python benchmarks/bench_ingest.py [--images 32] [--rounds 3] [--pack starter|DIR] [--min-objects K]

Variants, each into a fresh store, over the same generated images and the same models (ONNX packs:
the naive loop's sessions use one thread per CPU, the pipeline's `--pipeline-onnx-threads`):
  naive        decode -> detect -> embed the image, then each crop one at a time -> one write per image
  pipeline_w1  the pipeline with one analysis worker (one analyze call per batch: the earlier design)
  pipeline     the pipeline as shipped (one analysis worker per core)
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

VARIANTS = ("naive", "pipeline_w1", "pipeline")


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
    workers = 1 if variant == "pipeline_w1" else None
    ingestor = Ingestor(
        pack, engine.store, engine.media, engine.settings.max_image_pixels, analyze_workers=workers
    )
    cpu0 = time.process_time()
    with Stopwatch() as clock:
        if variant == "naive":
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
    def median(variant: str, key: str) -> float:
        return statistics.median(float(r[variant][key]) for r in rounds)  # type: ignore[arg-type]

    out: dict[str, object] = {}
    for variant in VARIANTS:
        seconds = median(variant, "seconds")
        out[variant] = {
            "images_per_s": round(n / seconds, 2),
            "cpu_ms_per_image": round(median(variant, "cpu_seconds") * 1000 / n, 1),
            "cores_busy": round(median(variant, "cpu_seconds") / seconds, 2),
            "stage_ms_per_image (last round)": rounds[-1][variant]["stage_ms_per_image"],
        }
    for variant in VARIANTS[1:]:
        ratios = [float(r["naive"]["seconds"]) / float(r[variant]["seconds"]) for r in rounds]  # type: ignore[arg-type]
        out[f"speedup_{variant}_over_naive"] = {"median": round(statistics.median(ratios), 2),
                                                "per_round": [round(x, 2) for x in ratios]}  # fmt: skip
    return out


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
    args = parser.parse_args()
    packs = {}
    for role, threads in (("naive", 0), ("pipeline", args.pipeline_onnx_threads)):
        pack = load_pack(Settings(models=args.pack, onnx_threads=threads))
        packs[role] = padded_pack(pack, args.min_objects) if args.min_objects else pack
        packs[role].warmup()
    pack = packs["naive"]
    load_before = load_average()
    rounds: list[dict[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "images").mkdir()
        paths = make_images(workdir / "images", args.images)
        for number in range(args.rounds):
            order = VARIANTS[number % 3 :] + VARIANTS[: number % 3]
            done = {
                v: run_variant(v, packs["naive" if v == "naive" else "pipeline"], paths,
                               workdir / f"{v}-{number}", args.batch_size)
                for v in order
            }  # fmt: skip
            rounds.append(done)
            print(
                f"round {number}: " + ", ".join(f"{v} {done[v]['seconds']:.1f}s" for v in VARIANTS),
                flush=True,
            )
    figures: dict[str, object] = {
        "pack": pack.info.model_id,
        "images": args.images,
        "objects": rounds[-1]["naive"]["objects"],
        "padded_to_min_objects": args.min_objects,
        "batch_size": args.batch_size,
        "pipeline_onnx_threads": args.pipeline_onnx_threads,
        "rounds": args.rounds,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        **summarize(rounds, args.images),
    }
    name = args.name or f"ingest_{'starter' if args.pack == 'starter' else Path(args.pack).name}"
    print(write_result(name, figures).read_text())


if __name__ == "__main__":
    main()
