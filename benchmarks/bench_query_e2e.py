"""Text queries end to end (embed with the real pack + store search + records) on large LanceDB stores.

    python benchmarks/bench_query_e2e.py --rows 100000 1000000 [--queries 100] [--serve-rows 1000000]

Per store size, side by side in one run: plain and hybrid (a class filter matching 0.1% of the images)
text queries, uncached (text-embedding cache emptied before each) and cached (a cache hit), with the
embedding alone as the profile's first split; recall@10 of each against numpy brute force over the
stored vectors. Then `pixseek serve` on the `--serve-rows` store answers the same queries over HTTP and
its peak RSS (VmHWM) is read from /proc. With `--text-pack DIR`, that pack's text encoder is timed
beside the starter's (one text per call, interleaved).

Stores are built once into `--work-dir` (one folder per size, reused while `dataset.json` matches):
image vectors mix the starter pack's ConSE class vectors as its image embedder does, each image has 1-4
detections of Zipf-distributed COCO classes, and the rare class appears in 0.1% of the images. The
objects table stays empty: text -> image search never reads it.
"""

from __future__ import annotations

# isort: off
import pixseek  # noqa: F401  (first: it caps OpenBLAS threads before numpy loads, as `pixseek serve` does)

# isort: on
import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import lancedb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.api.live_server
from tests.api.live_server import live_server

from bench_store_query import exact_top_k
from common import percentiles_ms, write_result
from pixseek.config import Settings
from pixseek.index.lance_schema import IMAGES_TABLE, VECTOR_COLUMN, ClassColumns, vector_matrix
from pixseek.index.lance_store import LanceStore
from pixseek.index.lance_synthetic import synthetic_images
from pixseek.index.lance_versions import POINTER
from pixseek.index.protocol import ImageFilter, ImageHit
from pixseek.models.loader import load_pack
from pixseek.models.starter.pack import StarterPack
from pixseek.models.types import Vectors, l2_normalize
from pixseek.search.cache import TextEmbeddingCache
from pixseek.search.service import Page, SearchService

T = TypeVar("T")
K = 10
RARE_CLASS = "toaster"  # held by RARE_SHARE of the images: the 0.1% filter
RARE_SHARE = 0.001
TRUTH_OF = {"plain_lancedb_index": "plain"}  # modes answering the same question as another
MIN_CONFIDENCE = 0.5  # the hybrid endpoint's default
RARE_FILTER = ImageFilter(classes=(RARE_CLASS,), min_confidence=MIN_CONFIDENCE)
CHUNK_ROWS = 100_000
LABELS_PER_IMAGE = 3  # ConSE mixes its top classes; three carry most of the weight
VECTOR_NOISE = 0.02
DATASET_VERSION = 1
QUERY_TEMPLATES = ("a photo of a {}", "{} in the park", "a close-up of a {}", "two {}s next to each other")
DEFAULT_WORK_DIR = Path(__file__).resolve().parents[1] / ".work" / "bench-query-e2e"


# --- the synthetic library ----------------------------------------------------------------------
def class_shares(names: tuple[str, ...]) -> np.ndarray:
    """Zipf-like shares of the detections per class (a few classes common, most rare, as in COCO)."""
    shares = 1.0 / np.arange(1, len(names) + 1) ** 1.1
    shares[names.index(RARE_CLASS)] = 0.0  # placed apart, in exactly the images chosen for it
    return shares / shares.sum()


def detections_json(class_ids: np.ndarray, names: tuple[str, ...], confidences: np.ndarray) -> str:
    boxes = ((10.0 + 20 * i, 10.0, 200.0 + 20 * i, 300.0) for i in range(len(class_ids)))
    return json.dumps(
        [
            [int(c), names[c], round(float(p), 4), *box]
            for c, p, box in zip(class_ids, confidences, boxes, strict=False)
        ]
    )


def synthetic_chunk(
    rng: np.random.Generator, first_id: int, n: int, names: tuple[str, ...], class_vectors: Vectors
) -> pa.Table:
    """`n` images whose vectors, detections and class-confidence columns look like ingested ones."""
    labels = rng.integers(0, len(class_vectors), (n, LABELS_PER_IMAGE))
    weights = rng.dirichlet(np.ones(LABELS_PER_IMAGE), n).astype(np.float32)
    mixed = np.einsum("nk,nkd->nd", weights, class_vectors[labels])
    vectors = l2_normalize(mixed + VECTOR_NOISE * rng.standard_normal(mixed.shape, dtype=np.float32))
    counts = rng.integers(1, 5, n)
    owner = np.repeat(np.arange(n), counts)
    classes = rng.choice(len(names), size=len(owner), p=class_shares(names))
    confidences = rng.uniform(0.3, 0.95, len(owner))
    rare_images = np.flatnonzero(rng.random(n) < RARE_SHARE)
    owner = np.concatenate([owner, rare_images])
    classes = np.concatenate([classes, np.full(len(rare_images), names.index(RARE_CLASS))])
    confidences = np.concatenate([confidences, rng.uniform(MIN_CONFIDENCE, 0.95, len(rare_images))])
    best = np.zeros((n, len(names)), dtype=np.float32)
    np.maximum.at(best, (owner, classes), confidences.astype(np.float32))
    order = np.argsort(owner, kind="stable")
    splits = np.cumsum(np.bincount(owner, minlength=n))[:-1]
    per_image = zip(np.split(classes[order], splits), np.split(confidences[order], splits), strict=True)
    column_names = ClassColumns(names)
    table = synthetic_images(column_names, vectors, {}, first_id)
    table = table.set_column(
        table.schema.get_field_index("detections"),
        "detections",
        pa.array([detections_json(c, names, p) for c, p in per_image], pa.string()),
    )
    for index, name in enumerate(names):
        column = column_names.column(name)
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(best[:, index]))
    return table


def lance_dir(db: Path) -> Path:
    """Where `pixseek serve --db DB` opens its LanceDB store."""
    return db / POINTER


def ensure_store(db: Path, rows: int, pack: StarterPack, seed: int) -> dict[str, Any]:
    """Build the store of `rows` images under `db` unless a complete one with this recipe is there."""
    recipe = {"rows": rows, "seed": seed, "version": DATASET_VERSION, "model_id": pack.info.model_id}
    marker = db / "dataset.json"
    if marker.exists() and json.loads(marker.read_text()).get("recipe") == recipe:
        return dict(json.loads(marker.read_text()), reused=True, **ensure_resident_snapshot(db, pack))
    if db.exists():
        raise SystemExit(f"{db} holds another or an unfinished store: remove it first")
    rng = np.random.default_rng(seed)
    class_vectors = pack.image_embedder.class_vectors()
    started = time.perf_counter()
    loader = LanceStore(lance_dir(db), pack.info, ann_threshold=rows + 1)  # no index while loading
    for first in range(0, rows, CHUNK_ROWS):
        n = min(CHUNK_ROWS, rows - first)
        loader.add_arrow(synthetic_chunk(rng, first, n, pack.info.class_names, class_vectors))
        print(f"loaded {first + n}/{rows}", flush=True)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    LanceStore(lance_dir(db), pack.info).optimize()  # the default threshold: builds the ANN + scalar indexes
    built = {
        "recipe": recipe,
        "load_s": round(load_s, 1),
        "index_build_s": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(built, indent=2) + "\n")
    return dict(built, reused=False)


def ensure_resident_snapshot(db: Path, pack: StarterPack) -> dict[str, float]:
    """A store built before the resident snapshot existed gets one (optimize builds it)."""
    if any((lance_dir(db) / "resident").glob("images-v*.postings.arrow")):
        return {}
    started = time.perf_counter()
    LanceStore(lance_dir(db), pack.info).optimize()
    return {"resident_build_s": round(time.perf_counter() - started, 1)}


def one_percent_class(names: tuple[str, ...]) -> str:
    """The class whose expected share of images (2.5 detections each on average) is nearest 1%."""
    shares = 1.0 - (1.0 - class_shares(names)) ** 2.5
    return names[int(np.argmin(np.abs(shares - 0.01)))]


class GroundTruth:
    """Every stored vector, read back from the store, for exact top-k by numpy (the brute-force engine)."""

    def __init__(self, db: Path, filter_columns: dict[str, str]) -> None:
        table = lancedb.connect(lance_dir(db)).open_table(IMAGES_TABLE)
        columns = ["id", *filter_columns.values(), VECTOR_COLUMN]
        rows = table.search().select(columns).limit(None).to_arrow()
        self.numbers = np.array([int(i, 16) for i in rows["id"].to_pylist()])
        self.vectors = vector_matrix(rows[VECTOR_COLUMN])
        self.filter_rows: dict[str, np.ndarray | None] = {"plain": None}
        for mode, column in filter_columns.items():
            self.filter_rows[mode] = np.flatnonzero(rows[column].to_numpy() >= np.float32(MIN_CONFIDENCE))

    def top_k(self, query: np.ndarray, mode: str) -> set[int]:
        positions = exact_top_k(self.vectors, self.filter_rows[mode], query)
        return {int(self.numbers[p]) for p in positions}


# --- measurements -------------------------------------------------------------------------------
def query_texts(pack: StarterPack, count: int, seed: int) -> list[str]:
    """Distinct everyday queries: templates over COCO and ImageNet class names."""
    rng = np.random.default_rng(seed + 1)
    nouns = [*pack.info.class_names, *(label.split(",")[0] for label in pack.classifier.labels)]
    texts: dict[str, None] = {}
    while len(texts) < count:
        template = QUERY_TEMPLATES[int(rng.integers(len(QUERY_TEMPLATES)))]
        texts[template.format(nouns[int(rng.integers(len(nouns)))])] = None
    return list(texts)


class Timings:
    """Wall-clock and process CPU seconds per named step. On a shared machine the CPU time is the
    steadier figure: it leaves out the time spent waiting for a core (it does count LanceDB's threads)."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def run(self, key: str, call: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        self.cpu.setdefault(key, []).append(time.process_time() - cpu)
        self.wall.setdefault(key, []).append(time.perf_counter() - wall)
        return result

    def summary(self, with_cpu: bool = True) -> dict[str, dict[str, float]]:
        return {
            key: {
                **percentiles_ms(wall),
                **({"cpu_p50_ms": round(float(np.median(self.cpu[key])) * 1000, 3)} if with_cpu else {}),
            }
            for key, wall in self.wall.items()
        }


def hit_numbers(hits: list[ImageHit]) -> set[int]:
    return {int(hit.record.id, 16) for hit in hits}


def ratio(mode: dict[str, float], baseline: dict[str, float]) -> float:
    return round(mode["p50_ms"] / baseline["p50_ms"], 2)


def measure_size(db: Path, pack: StarterPack, texts: list[str]) -> dict[str, Any]:
    """Interleaved per query: embed alone, then plain and hybrid, each uncached and then cached."""
    cache = TextEmbeddingCache(capacity=len(texts) + 1)
    pixels = Settings().max_image_pixels
    search = SearchService(pack, LanceStore(lance_dir(db), pack.info), cache, pixels)
    # The same store without the resident HNSW snapshot: LanceDB's own index answers plain queries.
    lance_store = LanceStore(lance_dir(db), pack.info, resident_index=False)
    lance_only = SearchService(pack, lance_store, cache, pixels)
    names = pack.info.class_names
    common_class = one_percent_class(names)
    columns = ClassColumns(names)
    truth = GroundTruth(
        db, {"hybrid_1pct": columns.column(common_class), "hybrid_0.1pct": columns.column(RARE_CLASS)}
    )
    page = Page(k=K)
    common_filter = ImageFilter(classes=(common_class,), min_confidence=MIN_CONFIDENCE)
    runs: dict[str, Callable[[str], list[ImageHit]]] = {
        "plain": lambda text: search.text(text, page),
        "plain_lancedb_index": lambda text: lance_only.text(text, page),
        "hybrid_1pct": lambda text: search.text(text, page, common_filter),
        "hybrid_0.1pct": lambda text: search.text(text, page, RARE_FILTER),
    }
    for text in texts[:5]:  # warm the models, the store's caches and the page cache
        for run in runs.values():
            run(text)
    timings = Timings()
    recalls: dict[str, list[float]] = {}
    for text in texts:
        timings.run("embed_only", partial(pack.text_embedder.embed_texts, [text]))
        for mode, run in runs.items():
            for cached in (False, True):
                if not cached:
                    cache.clear()
                key = f"{mode}_{'cached' if cached else 'uncached'}"
                hits = timings.run(key, partial(run, text))
                expected = truth.top_k(search.embed_text(text), TRUTH_OF.get(mode, mode))
                recalls.setdefault(key, []).append(len(hit_numbers(hits) & expected) / max(len(expected), 1))
            if mode in TRUTH_OF:
                continue
            # The same query by numpy brute force over vectors already in memory, side by side.
            query = search.embed_text(text)
            timings.run(f"numpy_{mode}", partial(truth.top_k, query, mode))
    modes = timings.summary()
    for key, values in recalls.items():
        modes[key]["recall_at_10"] = round(float(np.mean(values)), 4)
    return {
        "rows": len(truth.numbers),
        "filter_rows": {mode: len(rows) for mode, rows in truth.filter_rows.items() if rows is not None},
        "one_percent_class": common_class,
        "modes": modes,
        "hybrid_over_plain_p50": {
            f"{mode}_{cached}": round(
                modes[f"{mode}_{cached}"]["p50_ms"] / modes[f"plain_{cached}"]["p50_ms"], 2
            )
            for mode in ("plain_lancedb_index", "hybrid_1pct", "hybrid_0.1pct")
            for cached in ("uncached", "cached")
        },
    }


def measure_text_encoders(starter: StarterPack, pack_dir: Path, texts: list[str]) -> dict[str, Any]:
    """One-text embedding latency of another pack's text encoder, on each in-process engine
    installed here (`name@engine`), beside the starter's; interleaved."""
    encoders: dict[str, Any] = {"starter": starter.text_embedder}
    other = None
    for engine in ("onnxruntime", "openvino"):
        try:
            other = load_pack(Settings(models=str(pack_dir), onnx_engine=engine))
        except RuntimeError as error:  # openvino not installed
            print(f"{engine}: {error}", flush=True)
            continue
        encoders[f"{other.info.embedder_id}@{engine}"] = other.text_embedder
    assert other is not None
    for text in texts[:5]:
        for encoder in encoders.values():
            encoder.embed_texts([text])
    timings = Timings()
    for text in texts:
        for name, encoder in encoders.items():
            timings.run(name, partial(encoder.embed_texts, [text]))
    return {"pack": str(pack_dir), "weights": other.info.extra.get("embedder_weights"), **timings.summary()}


def child_pid(word: str) -> int:
    """The pid of this process's child whose command line holds `word`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and word.encode() in command:
            return int(stat.parent.name)
    raise LookupError(f"no child process running {word!r}")


def memory_kib(pid: int) -> dict[str, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) for name in ("VmHWM", "VmRSS")}


def measure_serving(db: Path, rows: int, texts: list[str]) -> dict[str, Any]:
    """`pixseek serve` on the store: the queries over HTTP, then the server's peak RSS."""
    cache_dir = Settings().resolved_cache_dir()  # holds the pack's class vectors, built by this run
    timings = Timings()  # the client's CPU time says nothing of the server's: wall time only
    with (
        live_server(db, cache_dir, timeout_s=600) as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        served = client.get("/health").json()["store"]["images"]
        if served != rows:
            raise RuntimeError(f"the server serves {served} images, not the {rows} of {db}")
        pid = child_pid("serve")
        after_start = memory_kib(pid)
        for text in texts:  # hybrid after text: its text embedding is a cache hit
            params: dict[str, str | int] = {"q": text, "k": K}
            answers = [timings.run("http_text", partial(client.get, "/search/text", params=params))]
            body = {"text_query": text, "yolo_classes": [RARE_CLASS], "k": K}
            answers.append(timings.run("http_hybrid", partial(client.post, "/search/hybrid", json=body)))
            for answer in answers:
                if len(answer.raise_for_status().json()) != K:
                    raise RuntimeError(f"fewer than {K} hits for {text!r} from {answer.url}")
        after_queries = memory_kib(pid)
    return {
        "rss_after_start_mib": round(after_start["VmRSS"] / 1024, 1),
        "rss_after_queries_mib": round(after_queries["VmRSS"] / 1024, 1),
        "peak_rss_mib": round(after_queries["VmHWM"] / 1024, 1),
        **timings.summary(with_cpu=False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--serve-rows", type=int, help="serve this size's store and read its peak RSS")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--text-pack", type=Path, help="also time this pack directory's text encoder")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the stores and stop")
    parser.add_argument(
        "--text-encoders-only",
        action="store_true",
        help="time only --text-pack's text encoder (results/text_encoders.json)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pack = StarterPack(Settings().resolved_cache_dir())
    pack.warmup()
    if args.text_encoders_only:
        encoders = measure_text_encoders(pack, args.text_pack, query_texts(pack, args.queries, args.seed))
        print(write_result("text_encoders", {"queries": args.queries, **encoders}).read_text())
        return
    stores = {rows: args.work_dir / f"store-{rows}" for rows in args.rows}
    builds = {rows: ensure_store(db, rows, pack, args.seed) for rows, db in stores.items()}
    if args.build_only:
        print(json.dumps(builds, indent=2))
        return
    texts = query_texts(pack, args.queries, args.seed)
    load_before = os.getloadavg()
    sizes = []
    for rows, db in stores.items():
        sizes.append({"build": builds[rows], **measure_size(db, pack, texts)})
        print(json.dumps(sizes[-1], indent=2), flush=True)
    serving = None
    if args.serve_rows is not None:
        serving = {
            "rows": args.serve_rows,
            **measure_serving(args.work_dir / f"store-{args.serve_rows}", args.serve_rows, texts),
        }
        print(json.dumps(serving, indent=2), flush=True)
    encoders = None
    if args.text_pack is not None:
        encoders = measure_text_encoders(pack, args.text_pack, texts)
        print(json.dumps(encoders, indent=2), flush=True)
    load = {"load_avg_before": load_before, "load_avg_after": os.getloadavg()}
    figures = {
        "k": K,
        "pack": pack.info.model_id,
        "queries": len(texts),
        **load,
        "sizes": sizes,
        "serving": serving,
        "text_encoders": encoders,
    }
    print(write_result("query_e2e", figures))


if __name__ == "__main__":
    main()
