"""Process memory while the LanceDB store takes a long ingest: LanceDB's default session vs pixseek's.

    python benchmarks/bench_store_memory.py [--images 10000] [--batch 16]

Each variant runs in its own process: it upserts synthetic images (384-d vectors, 2 objects each)
`--batch` at a time, as a folder ingest does, checking known ids before each batch, and samples its
RSS every 10% of the images. `default` opens LanceDB with its default caches; `pixseek` is the store
as shipped (its metadata cache capped by `lance_store.METADATA_CACHE_BYTES`). No models run: this
isolates what the store holds on to.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result

VARIANTS = ("default", "pixseek")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_variant(variant: str, images: int, batch: int) -> dict[str, Any]:
    """In this process: the upserts, with RSS samples."""
    import lancedb

    if variant == "default":  # the store as it was before capping the cache: no session passed
        original = lancedb.connect

        def connect_with_default_session(*args: Any, session: Any = None, **kwargs: Any) -> Any:
            return original(*args, **kwargs)

        lancedb.connect = connect_with_default_session
    from pixseek.index.lance_store import LanceStore
    from pixseek.index.protocol import ImageRecord, ObjectRecord
    from pixseek.models.coco import COCO_CLASSES
    from pixseek.models.protocols import PackInfo
    from pixseek.models.types import Box, Detection

    pack = PackInfo("bench-memory-384", 384, "none", "none", "bench-only", COCO_CLASSES)
    rng = np.random.default_rng(0)
    samples: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pixseek-bench-memory-") as folder:
        store = LanceStore(Path(folder), pack)
        samples["0"] = round(rss_mib(), 1)
        detections = tuple(Detection(0, "person", 0.9, Box(1, 2, 30, 40)) for _ in range(2))
        for start in range(0, images, batch):
            items = []
            for n in range(start, min(start + batch, images)):
                vector = rng.standard_normal(384).astype(np.float32)
                vector /= np.linalg.norm(vector)
                record = ImageRecord(f"{n:064x}", f"/x/{n}.jpg", f"{n}.jpg", 320, 240, None,
                                     datetime.now(UTC), (), detections, vector)  # fmt: skip
                items.append((record, [ObjectRecord(i, d, vector) for i, d in enumerate(detections)]))
            store.existing_ids([record.id for record, _ in items])
            store.upsert(items)
            done = start + len(items)
            if done * 10 // images != start * 10 // images:
                samples[str(done)] = round(rss_mib(), 1)
    return {"rss_mib_at_images": samples, "growth_mib": round(samples[str(images)] - samples["0"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # the child's role
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.images, args.batch)))
        return
    results = {}
    for variant in VARIANTS:
        command = [sys.executable, __file__, "--variant", variant, "--images", str(args.images),
                   "--batch", str(args.batch)]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results[variant] = json.loads(output.strip().splitlines()[-1])
        print(variant, results[variant], flush=True)
    ratio = results["default"]["growth_mib"] / max(results["pixseek"]["growth_mib"], 1.0)
    figures = {"images": args.images, "batch": args.batch, "results": results,
               "growth_default_over_pixseek": round(ratio, 2)}  # fmt: skip
    print(write_result("store_memory", figures))


if __name__ == "__main__":
    main()
