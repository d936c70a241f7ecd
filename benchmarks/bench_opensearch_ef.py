"""OpenSearch `ef_search`: query latency and recall against paging consistency, side by side.

The store sends `ef_search = max(k, MIN_EF_SEARCH)` (opensearch_query.py). A width that grows with
the page (k = offset + page size) changes the candidates each page is cut from, so pages repeat and
skip images; a fixed width costs latency. On one synthetic library, in rotating order for each
round, every width gets: p50/p95 of top-10 image searches with recall@10 against exact search, and
the repeats seen paging 20 pages of 20 per query (as the search service pages).

    python benchmarks/bench_opensearch_ef.py --url http://127.0.0.1:9250 --images 20000 --widths 100,256,1024
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backends import K, drop_opensearch, exact_top_k, ingest, make_library, open_opensearch
from common import Stopwatch, percentiles_ms, write_result
from pixseek.index import opensearch_query
from pixseek.index.protocol import Store


def paging_repeats(store: Store, queries: np.ndarray, pages: int = 20, size: int = 20) -> int:
    repeats = 0
    for query in queries:
        seen: list[str] = []
        for offset in range(0, pages * size, size):
            seen += [hit.record.id for hit in store.search_images(query, offset + size)[offset:]]
        repeats += len(seen) - len(set(seen))
    return repeats


def measure(store: Store, vectors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    everything = np.arange(len(vectors))
    for query in queries[:10]:
        store.search_images(query, K)
    latencies, recalls = [], []
    for query in queries:
        with Stopwatch() as watch:
            hits = store.search_images(query, K)
        latencies.append(watch.seconds)
        recalls.append(len({h.record.id for h in hits} & exact_top_k(vectors, everything, query)) / K)
    return {**percentiles_ms(latencies), "recall_at_10": round(float(np.mean(recalls)), 4),
            "paging_repeats_10_queries": paging_repeats(store, queries[:10])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:9250")
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--widths", default="100,256,1024")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ef-construction", type=int, default=128)
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    library, queries = make_library(np.random.default_rng(7), args.images, objects=0)
    name = f"pixseek-bench-ef-{uuid.uuid4().hex[:8]}"
    store = open_opensearch(args.url, name, args.ef_construction)
    try:
        loaded = ingest(store, library, args.images, batch=1_000, budget_s=float("inf"))
        rounds: dict[int, list[dict[str, Any]]] = {width: [] for width in widths}
        for number in range(args.rounds):
            for width in widths[number % len(widths) :] + widths[: number % len(widths)]:
                opensearch_query.MIN_EF_SEARCH = width
                rounds[width].append(measure(store, library.vectors, queries[:100]))
                print(width, rounds[width][-1], flush=True)
    finally:
        store.close()
        drop_opensearch(args.url, name)
    base = widths[0]
    ratios = [[round(r[w]["p50_ms"] / r[base]["p50_ms"], 2) for r in (
        {w: rounds[w][i] for w in widths} for i in range(args.rounds))] for w in widths]  # fmt: skip
    path = write_result("opensearch_ef", {
        "library": {**loaded, "dim": library.vectors.shape[1], "ef_construction": args.ef_construction},
        "rounds": {str(w): rounds[w] for w in widths},
        f"p50_ratio_to_ef_{base}_per_round": {str(w): ratio for w, ratio in zip(widths, ratios, strict=True)},
    })  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
