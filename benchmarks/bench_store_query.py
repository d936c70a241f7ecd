"""Query latency and recall@10 of the LanceDB store beside numpy brute force, on synthetic vectors.

Per table size: plain vector search, and hybrid searches whose class filter matches 1% and 0.1% of the
images. Recall is against exact (filtered) top-10 from numpy.

    python benchmarks/bench_store_query.py --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Stopwatch, percentiles_ms, write_result
from pixseek.index.lance_schema import ClassColumns
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import clustered_unit_vectors, synthetic_images
from pixseek.index.protocol import ImageFilter, Vector
from pixseek.models.protocols import PackInfo
from pixseek.models.types import Vectors

DIM = 384  # the starter pack's
K = 10
PACK = PackInfo("bench-384", DIM, "none", "none", "bench-only", ("person", "cat", "dog"))
# Filter name -> (class, share of images showing it).
FILTERS = {"plain": None, "class_1pct": ("cat", 0.01), "class_0.1pct": ("dog", 0.001)}


def exact_top_k(vectors: Vectors, rows: np.ndarray | None, query: Vector) -> set[int]:
    """Exact top-k by numpy over `rows` (all rows when None), as a brute-force engine would answer."""
    scores = vectors @ query if rows is None else vectors[rows] @ query
    top = np.argpartition(-scores, K)[:K] if len(scores) > K else np.arange(len(scores))
    return set((top if rows is None else rows[top]).tolist())


def timed(queries: Vectors, run: Callable[[Vector], set[int]]) -> tuple[list[float], list[set[int]]]:
    for query in queries[:5]:  # warm caches
        run(query)
    seconds, results = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(run(query))
        seconds.append(time.perf_counter() - started)
    return seconds, results


def bench_size(rows: int, queries_n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((1000, DIM), dtype=np.float32)
    vectors = clustered_unit_vectors(rng, rows, centers, spread=0.6)
    queries = clustered_unit_vectors(rng, queries_n, centers, spread=0.6)
    masks = {spec[0]: rng.random(rows) < spec[1] for spec in FILTERS.values() if spec is not None}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        return _measure(Path(folder), vectors, queries, masks)


def _measure(
    folder: Path, vectors: Vectors, queries: Vectors, masks: dict[str, np.ndarray]
) -> dict[str, Any]:
    rows = len(vectors)
    table = synthetic_images(ClassColumns(PACK.class_names), vectors, masks)
    with Stopwatch() as load:
        LanceStore(folder, PACK, ann_threshold=rows + 1).add_arrow(table)
    store = LanceStore(folder, PACK)  # the default threshold: optimize() builds the index
    with Stopwatch() as build:
        store.optimize()
    result: dict[str, Any] = {
        "rows": rows,
        "dim": DIM,
        "queries": len(queries),
        "load_s": round(load.seconds, 1),
        "index_build_s": round(build.seconds, 1),
        "indexed": store.info().indexed,
        "modes": {},
    }
    for mode, spec in FILTERS.items():
        flt = ImageFilter() if spec is None else ImageFilter(classes=(spec[0],))
        allowed = None if spec is None else np.flatnonzero(masks[spec[0]])

        def lance(query: Vector, flt: ImageFilter = flt) -> set[int]:
            return {int(hit.record.id, 16) for hit in store.search_images(query, K, flt)}

        def numpy_exact(query: Vector, allowed: np.ndarray | None = allowed) -> set[int]:
            return exact_top_k(vectors, allowed, query)

        lance_s, found = timed(queries, lance)
        numpy_s, truth = timed(queries, numpy_exact)
        recall = np.mean([len(f & t) / max(len(t), 1) for f, t in zip(found, truth, strict=True)])
        result["modes"][mode] = {
            "matching_rows": rows if allowed is None else len(allowed),
            "lancedb": {
                **percentiles_ms(lance_s),
                "recall_at_10": round(float(recall), 4),
                "mean_results": float(np.mean([len(f) for f in found])),
            },
            "numpy_brute_force": percentiles_ms(numpy_s),
        }
        print(rows, mode, result["modes"][mode], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    sizes = [bench_size(rows, args.queries, args.seed) for rows in args.rows]
    # The machine may be shared: the load average says how much CPU the figures had to share.
    load = {"load_avg_1min_before": load_before, "load_avg_1min_after": os.getloadavg()[0]}
    print(write_result("store_query", {"k": K, **load, "sizes": sizes}))


if __name__ == "__main__":
    main()
