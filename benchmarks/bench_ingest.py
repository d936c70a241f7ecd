"""Ingest throughput: per-stage split, and the batched pipeline against a naive sequential loop.

    python benchmarks/bench_ingest.py [--images 48] [--pack starter|DIR]

Both runs use the same pack and the same generated images (random crops of the package-shipped
samples, re-encoded as JPEG so every file has its own content hash), each into a fresh store.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Stopwatch, write_result
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.index.protocol import ImageRecord, ObjectRecord
from pixseek.ingest.decode import decode_image
from pixseek.ingest.folder import find_images, index_paths
from pixseek.ingest.pipeline import content_id
from pixseek.models.loader import load_pack
from pixseek.models.preprocess import crop_with_context
from pixseek.models.protocols import ModelPack
from pixseek.samples import sample_images


def make_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    sources = [Image.open(p).convert("RGB") for p in sample_images()]
    paths = []
    for n in range(count):
        source = sources[n % len(sources)]
        w, h = source.size
        scale = rng.uniform(0.7, 1.0)
        cw, ch = int(w * scale), int(h * scale)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = source.crop((x, y, x + cw, y + ch))
        crop.thumbnail((800, 800))
        path = folder / f"img{n:05d}.jpg"
        crop.save(path, quality=90)
        paths.append(path)
    return paths


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


def run(pack: ModelPack, paths: list[Path], workdir: Path, batch_size: int) -> dict[str, object]:
    naive_engine = Engine.open(Settings(db=workdir / "naive"), pack=pack)
    with Stopwatch() as naive_clock:
        stages = naive_ingest(naive_engine, paths)
    objects = naive_engine.store.info().objects
    naive_engine.close()

    engine = Engine.open(Settings(db=workdir / "pipeline"), pack=pack)
    with Stopwatch() as pipeline_clock:
        report = index_paths(
            engine.ingestor, find_images(paths[0].parent), batch_size=batch_size, progress=False
        )
    assert report.indexed == len(paths), report
    times = engine.ingestor.times
    engine.close()

    n = len(paths)
    naive_ips, pipeline_ips = n / naive_clock.seconds, n / pipeline_clock.seconds
    return {
        "images": n,
        "objects": objects,
        "batch_size": batch_size,
        "naive": {"images_per_s": round(naive_ips, 2),
                  "stage_ms_per_image": {k: round(v * 1000 / n, 2) for k, v in stages.items()}},
        "pipeline": {"images_per_s": round(pipeline_ips, 2),
                     "stage_seconds": {"read_decode (overlapped)": round(times.read_decode, 2),
                                       "detect+embed": round(times.analyze, 2),
                                       "write": round(times.write, 2)}},
        "speedup_pipeline_over_naive": round(pipeline_ips / naive_ips, 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--pack", default="starter")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--name", default=None, help="results file name (default ingest_<pack>)")
    args = parser.parse_args()
    pack = load_pack(Settings(models=args.pack))
    pack.warmup()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "images").mkdir()
        paths = make_images(workdir / "images", args.images)
        figures = run(pack, paths, workdir, args.batch_size)
    figures["pack"] = pack.info.model_id
    name = args.name or f"ingest_{'starter' if args.pack == 'starter' else Path(args.pack).name}"
    print(write_result(name, figures).read_text())


if __name__ == "__main__":
    main()
