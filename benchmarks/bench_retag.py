"""Re-tagging known images (`pixseek index FOLDER --tags new` over an indexed folder): one store
write per image against one per ingest batch, side by side on the same synthetic library.

Each variant gets a fresh LanceDB store with the same images (3 objects each), then gives every
image a new tag through `Store.update_metadata`: `per_image` in calls of one update (what ingest did
before updates were batched), `batched` in calls of `--batch` updates (what ingest does now, one call
per ingest batch). Reports seconds, images/s, the LanceDB table versions each variant left behind,
and that a tag-filtered search then finds every image.

    python benchmarks/bench_retag.py --images 500 --batch 16
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import lancedb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backends import PACK, batches, ingest, make_library
from common import Stopwatch, write_result
from pixseek.index.lance_schema import IMAGES_TABLE, OBJECTS_TABLE
from pixseek.index.lance_store import LanceStore
from pixseek.index.protocol import ImageFilter, MetadataUpdate

NEW_TAG = "retagged"


def table_versions(db: Path) -> int:
    connection = lancedb.connect(db)
    return sum(len(connection.open_table(name).list_versions()) for name in (IMAGES_TABLE, OBJECTS_TABLE))


def run_variant(images: int, per_call: int, seed: int) -> dict[str, Any]:
    library, _queries = make_library(np.random.default_rng(seed), images, objects=3)
    with tempfile.TemporaryDirectory(prefix="pixseek-retag-") as tmp:
        db = Path(tmp) / "db"
        store = LanceStore(db, PACK, resident_index=False)
        ingest(store, library, images, batch=500, budget_s=float("inf"), optimize=False)
        records = [
            record for start, stop in batches(images, 500) for record, _ in library.records(start, stop)
        ]
        versions_before = table_versions(db)
        with Stopwatch() as watch:
            for start, stop in batches(images, per_call):
                chunk = records[start:stop]
                store.update_metadata([MetadataUpdate(r.id, add_tags=(NEW_TAG,)) for r in chunk])
        found = len(store.list_images(images + 1, flt=ImageFilter(tags=(NEW_TAG,))))
        store.close()
        return {
            "images": images,
            "updates_per_call": per_call,
            "seconds": round(watch.seconds, 2),
            "images_per_s": round(images / watch.seconds, 1),
            "table_versions_added": table_versions(db) - versions_before,
            "tagged_images_found": found,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16, help="updates per call in the batched variant")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    variants = {
        "per_image": run_variant(args.images, 1, args.seed),
        "batched": run_variant(args.images, args.batch, args.seed),
    }
    for name, figures in variants.items():
        print(f"{name:>10}: {figures}")
    speedup = variants["batched"]["images_per_s"] / variants["per_image"]["images_per_s"]
    print(f"batched / per_image: {speedup:.1f}x images/s")
    path = write_result("retag", {"variants": variants, "batched_over_per_image": round(speedup, 2)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
