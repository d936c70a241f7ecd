"""LanceDB vs OpenSearch on the same synthetic library: bulk ingest, query p50/p95, recall@10.

Both stores receive the same records through `Store.upsert` (objects included), then answer the
same queries, plain and with a tag filter matching 1% of the images; recall@10 is against numpy's
exact (filtered) top-10. OpenSearch ingest stops at `--os-budget-s`: both backends are then measured
at the number of images it reached, and the result says so.

    eval "$(bash scripts/opensearch-node.sh start)"
    python benchmarks/bench_backends.py --images 100000 --objects 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Stopwatch, percentiles_ms, write_result
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import clustered_unit_vectors
from pixseek.index.protocol import ImageFilter, ImageRecord, ObjectRecord, Store
from pixseek.models.coco import COCO_CLASSES
from pixseek.models.protocols import PackInfo
from pixseek.models.types import Box, Detection, Vectors

DIM = 384  # the starter pack's
K = 10
PACK = PackInfo("bench-backends-384", DIM, "none", "none", "bench-only", COCO_CLASSES)
RARE_TAG = "one-percent"  # on every 100th image
FILTERS = {"plain": ImageFilter(), "tag_1pct": ImageFilter(tags=(RARE_TAG,))}
OBJECT_CLASSES = ("person", "car", "dog", "cup")


@dataclass(frozen=True)
class Library:
    vectors: Vectors  # (images, dim)
    object_vectors: Vectors  # (images * objects, dim)
    objects: int

    def records(self, start: int, stop: int) -> list[tuple[ImageRecord, list[ObjectRecord]]]:
        base = datetime(2020, 1, 1, tzinfo=UTC)
        items = []
        for n in range(start, stop):
            detections = tuple(
                Detection(COCO_CLASSES.index(name), name, 0.5 + 0.1 * (j % 5), Box(10, 10, 200, 150))
                for j in range(self.objects)
                for name in [OBJECT_CLASSES[(n + j) % len(OBJECT_CLASSES)]]
            )
            record = ImageRecord(
                id=f"{n:064x}", path=f"/synthetic/{n}.jpg", filename=f"{n}.jpg", width=640, height=480,
                captured_at=base + timedelta(minutes=n), ingested_at=base,
                tags=(RARE_TAG,) if n % 100 == 0 else (), detections=detections, vector=self.vectors[n],
            )  # fmt: skip
            first = n * self.objects
            objects = [ObjectRecord(j, d, self.object_vectors[first + j]) for j, d in enumerate(detections)]
            items.append((record, objects))
        return items


def make_library(rng: np.random.Generator, images: int, objects: int) -> tuple[Library, Vectors]:
    centers = clustered_unit_vectors(rng, 2_000, rng.standard_normal((50, DIM), dtype=np.float32), 0.08)
    library = Library(
        clustered_unit_vectors(rng, images, centers, 0.04),
        clustered_unit_vectors(rng, images * objects, centers, 0.04),
        objects,
    )
    return library, clustered_unit_vectors(rng, 200, centers, 0.04)


def batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(start + size, total)


def ingest(
    store: Store, library: Library, images: int, batch: int, budget_s: float, optimize: bool = True
) -> dict[str, Any]:
    """Upsert up to `images` in batches until the budget is spent, then optimize; returns the figures."""
    done, started = 0, time.perf_counter()
    for start, stop in batches(images, batch):
        store.upsert(library.records(start, stop))
        done = stop
        print(f"{type(store).__name__}: {done} images in {time.perf_counter() - started:.0f} s", flush=True)
        if time.perf_counter() - started > budget_s:
            break
    seconds = time.perf_counter() - started
    with Stopwatch() as merge:
        if optimize:
            store.optimize()
    return {
        "images": done,
        "vectors": done * (1 + library.objects),
        "ingest_s": round(seconds, 2),
        "docs_per_s": round(done / seconds, 1),
        "vectors_per_s": round(done * (1 + library.objects) / seconds, 1),
        "optimize_s": round(merge.seconds, 2) if optimize else None,
    }


def exact_top_k(vectors: Vectors, rows: np.ndarray, query: np.ndarray) -> set[str]:
    scores = vectors[rows] @ query
    top = rows[np.argsort(-scores)[:K]]
    return {f"{n:064x}" for n in top}


def measure_queries(store: Store, library: Library, images: int, queries: Vectors) -> dict[str, Any]:
    everything = np.arange(images)
    rare = everything[everything % 100 == 0]
    figures: dict[str, Any] = {}
    for name, flt in FILTERS.items():
        rows = rare if flt.tags else everything
        for query in queries[:10]:  # warm caches and graphs
            store.search_images(query, K, flt)
        latencies, recalls = [], []
        for query in queries:
            with Stopwatch() as watch:
                hits = store.search_images(query, K, flt)
            latencies.append(watch.seconds)
            truth = exact_top_k(library.vectors, rows, query)
            recalls.append(len({h.record.id for h in hits} & truth) / K)
        figures[name] = {**percentiles_ms(latencies), "recall_at_10": round(float(np.mean(recalls)), 4)}
    return figures


def open_opensearch(url: str, name: str, ef_construction: int) -> Store:
    from pixseek.index.opensearch_store import OpenSearchStore

    return OpenSearchStore(url, name, PACK, ef_construction=ef_construction)


def drop_opensearch(url: str, name: str) -> None:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import OpenSearchException

    client = OpenSearch(hosts=[url], timeout=300)  # a node busy merging answers slowly
    try:
        client.indices.delete(index=f"{name}-v*", ignore_unavailable=True)
    except OpenSearchException as exc:  # the figures are taken: report, do not lose them
        print(f"could not delete the benchmark index {name}-v*: {exc}", file=sys.stderr)
    finally:
        client.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    library, queries = make_library(rng, args.images, args.objects)
    results: dict[str, Any] = {}
    name = f"pixseek-bench-{os.getpid()}"
    store = open_opensearch(args.opensearch_url, name, args.ef_construction)
    try:
        results["opensearch"] = ingest(
            store, library, args.images, args.batch, args.os_budget_s, optimize=args.os_merge
        )
        results["opensearch"]["queries"] = measure_queries(store, library, results["opensearch"]["images"],
                                                           queries)  # fmt: skip
    finally:
        store.close()
        drop_opensearch(args.opensearch_url, name)
    # LanceDB gets the same library, and the whole of it if OpenSearch stopped short.
    for images in sorted({results["opensearch"]["images"], args.images}):
        with tempfile.TemporaryDirectory(prefix="pixseek-bench-") as folder:
            lance = LanceStore(Path(folder) / "lance", PACK)
            figures = ingest(lance, library, images, args.batch, float("inf"))
            figures["queries"] = measure_queries(lance, library, images, queries)
            results["lancedb" if images == results["opensearch"]["images"] else f"lancedb@{images}"] = figures
    return results


def print_table(results: dict[str, Any]) -> None:
    print("| backend | images | ingest docs/s | optimize s | filter | p50 ms | p95 ms | recall@10 |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for backend, figures in results.items():
        for name, query in figures["queries"].items():
            cells = [backend, figures["images"], figures["docs_per_s"], figures["optimize_s"], name,
                     query["p50_ms"], query["p95_ms"], query["recall_at_10"]]  # fmt: skip
            print("| " + " | ".join(str(cell) for cell in cells) + " |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--objects", type=int, default=3, help="objects (object vectors) per image")
    parser.add_argument("--batch", type=int, default=1_000, help="images per upsert call")
    parser.add_argument("--os-budget-s", type=float, default=600.0, help="OpenSearch ingest time budget")
    parser.add_argument("--opensearch-url", default=os.environ.get("PIXSEEK_TEST_OPENSEARCH_URL"))
    parser.add_argument(
        "--os-merge",
        action="store_true",
        help="force-merge the OpenSearch index before querying (slow at ef_construction 512)",
    )
    parser.add_argument("--ef-construction", type=int, default=512, help="OpenSearch HNSW build width")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not args.opensearch_url:
        parser.error("no OpenSearch: pass --opensearch-url or set PIXSEEK_TEST_OPENSEARCH_URL")
    results = run(args)
    settings = {"dim": DIM, "objects_per_image": args.objects, "requested_images": args.images,
                "k": K, "queries": 200, "batch": args.batch, "os_budget_s": args.os_budget_s,
                "opensearch": {"engine": "lucene", "m": 16, "ef_construction": args.ef_construction,
                               "ef_search": 100, "heap": os.environ.get("PIXSEEK_OS_HEAP", "1g"),
                               "shards": 1, "replicas": 0, "refresh": "wait_for",
                               "force_merged": args.os_merge}}  # fmt: skip
    path = write_result("backends", {"settings": settings, "results": results})
    print_table(results)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
