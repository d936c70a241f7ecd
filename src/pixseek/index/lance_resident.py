"""A resident snapshot of the image table: an HNSW graph of the vectors, the records, class postings.

LanceDB's on-disk IVF_HNSW_SQ index stays the source of truth, but each of its queries costs several
milliseconds of planning and I/O at 1M rows, and reading ten records by row id another 11 ms.
`optimize()` therefore also builds, for the table version it leaves, an in-memory HNSW graph (faiss)
of the image vectors, a copy of the records (an uncompressed Arrow file that readers memory-map) and
the class postings and capture times of `lance_resident_filter`, and saves them beside the tables.
Any process reading that same version answers image searches from the snapshot: unfiltered through
the graph, filtered on classes and dates exactly over the matches' vectors when at most
EXACT_SCAN_MAX_ROWS images match. Tags, larger match sets and a table that has moved on (a write, a
compaction) go to LanceDB until the next `optimize()`; a snapshot is never used for another version.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
from lancedb.table import Table

from pixseek.index.lance_query import EXACT_SCAN_MAX_ROWS
from pixseek.index.lance_resident_filter import FilterColumns, capture_times
from pixseek.index.lance_schema import RECORD_COLUMNS, VECTOR_COLUMN, ClassColumns, vector_matrix
from pixseek.index.protocol import ImageFilter, Vector

# Graph degree, build width and search width (at least this, and at least twice k). On the 1M-image
# benchmark store with text queries: build width 64 reached recall@10 0.93 only at search width 512;
# 200 gives 0.96 at 256 and 0.98 at 512 (1.5 ms), for a build of 350 s instead of 110 s on 2 cores.
GRAPH_DEGREE: Final = 32
BUILD_EF: Final = 200
SEARCH_EF: Final = 512
SCAN_BATCH_ROWS: Final = 65_536  # vectors normalized and added per step, bounding the build's memory


class RecordBatches:
    """Rows by label from a table of many record batches.

    `pa.Table.take` may first concatenate each column's chunks: 75 ms for ten rows of the 1M-image
    records (16 batches) against 0.4 ms taking from the batches that hold them.
    """

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self._batches = table.to_batches()
        self._starts = np.cumsum([0] + [batch.num_rows for batch in self._batches[:-1]])

    def take(self, labels: np.ndarray) -> pa.Table:
        if not len(labels) or not self._batches:
            return self.table.schema.empty_table()
        chunk = np.searchsorted(self._starts, labels, side="right") - 1
        order = np.argsort(chunk, kind="stable")
        pieces = [
            self._batches[c].take(pa.array(labels[order][chunk[order] == c] - self._starts[c]))
            for c in np.unique(chunk)  # ascending, as `order` groups them
        ]
        return pa.Table.from_batches(pieces, self.table.schema).take(pa.array(np.argsort(order)))


@dataclass(frozen=True)
class Snapshot:
    version: int  # the table version whose rows it holds
    index: faiss.Index  # inner product over L2-normalized vectors: label i is record i
    records: RecordBatches  # RECORD_COLUMNS of every image, in label order
    filters: FilterColumns


class ResidentIndex:
    """Loads, builds and queries the snapshot of one table; thread-safe."""

    def __init__(self, folder: Path, dim: int, classes: ClassColumns) -> None:
        self._folder = folder
        self._dim = dim
        self._classes = classes
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    # -- writer side ---------------------------------------------------------------------------------

    def rebuild(self, table: Table) -> int | None:
        """Build and save the snapshot of the table's current version; returns it (None: it moved)."""
        version = table.version
        index = faiss.IndexHNSWFlat(self._dim, GRAPH_DEGREE, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = BUILD_EF
        class_columns = list(self._classes.by_class.values())
        records: list[pa.RecordBatch] = []
        filter_parts: list[pa.RecordBatch] = []
        query = table.search().select([*RECORD_COLUMNS, VECTOR_COLUMN, *class_columns]).limit(None)
        for batch in query.to_batches(SCAN_BATCH_ROWS):
            index.add(_normalized(vector_matrix(pa.chunked_array([batch.column(VECTOR_COLUMN)]))))
            records.append(batch.select(list(RECORD_COLUMNS)))
            filter_parts.append(batch.select(["captured_at", *class_columns]))
        if table.version != version:  # another write landed during the scan: leave it to the next run
            return None
        schema = table.schema
        record_table = pa.Table.from_batches(records, pa.schema([schema.field(c) for c in RECORD_COLUMNS]))
        filters = FilterColumns.collect(filter_parts, class_columns)
        snapshot = Snapshot(version, index, RecordBatches(record_table), filters)
        self._save(snapshot)
        with self._lock:
            self._snapshot = snapshot
        return version

    def _save(self, snapshot: Snapshot) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        graph, records, postings = self._paths(snapshot.version)
        writes = (  # uncompressed, so that readers can memory-map the records
            (records, lambda p: feather.write_feather(snapshot.records.table, p, compression="uncompressed")),
            (postings, lambda p: feather.write_feather(snapshot.filters.to_table(), p)),
            (graph, lambda p: faiss.write_index(snapshot.index, p)),
        )
        for path, write in writes:
            partial = path.with_name(path.name + f".{os.getpid()}.partial")
            write(str(partial))
            os.replace(partial, path)  # the graph lands last: a reader that finds it finds all three
        for stale in self._folder.glob("images-v*"):
            if not stale.name.startswith(f"images-v{snapshot.version}."):
                stale.unlink(missing_ok=True)

    def clear(self) -> None:
        """Drop the snapshot (the table fell below the size that warrants one)."""
        with self._lock:
            self._snapshot = None
        for stale in self._folder.glob("images-v*"):
            stale.unlink(missing_ok=True)

    # -- reader side ---------------------------------------------------------------------------------

    def snapshot_version(self) -> int | None:
        with self._lock:
            return None if self._snapshot is None else self._snapshot.version

    def nearest(
        self, table: Table, vector: Vector, k: int, columns: Sequence[str], flt: ImageFilter = ImageFilter()
    ) -> pa.Table | None:
        """The k nearest rows passing `flt`, with `columns` (of RECORD_COLUMNS) and `_distance`, best
        first; None when no snapshot matches the table's current version or the filter needs LanceDB
        (the caller then asks LanceDB): tags, or more than EXACT_SCAN_MAX_ROWS class/date matches."""
        snapshot = self._for_version(table.version)
        if snapshot is None or not snapshot.filters.handles(flt):
            return None
        query = _normalized(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        wanted = k + len(flt.exclude_ids)  # excluded ids are dropped from the ranking afterwards
        candidates = snapshot.filters.matching(flt, self._classes)
        if candidates is None:
            labels, similarity = _graph_search(snapshot.index, query, wanted)
        elif len(candidates) > EXACT_SCAN_MAX_ROWS:
            return None
        else:
            labels, similarity = _exact_search(snapshot.index, candidates, query, wanted)
        rows = snapshot.records.take(np.asarray(labels, dtype=np.int64))
        if flt.exclude_ids:
            kept = np.flatnonzero(~np.isin(np.asarray(rows.column("id").to_pylist()), list(flt.exclude_ids)))
            rows, similarity = rows.take(pa.array(kept, pa.int64())), similarity[kept]
        distances = pa.array((1.0 - similarity[:k]).astype(np.float32))
        return rows.slice(0, k).select(list(columns)).append_column("_distance", distances)

    def _for_version(self, version: int) -> Snapshot | None:
        with self._lock:
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            if not self._paths(version)[0].exists():  # a stat: cheap beside the query it may save
                return None
            self._snapshot = self._load(version)
            return self._snapshot

    def _load(self, version: int) -> Snapshot | None:
        graph, records_path, postings = self._paths(version)
        try:
            index = faiss.read_index(str(graph))
            records = feather.read_table(str(records_path), memory_map=True)
            posting_table = feather.read_table(str(postings), memory_map=False)
        except (OSError, RuntimeError):  # absent, or removed by a newer build while reading
            return None
        filters = FilterColumns.from_table(posting_table, capture_times(records.column("captured_at")))
        return Snapshot(version, index, RecordBatches(records), filters)

    def _paths(self, version: int) -> tuple[Path, Path, Path]:
        stem = self._folder / f"images-v{version}"
        return (
            stem.with_suffix(".faiss"),
            stem.with_suffix(".records.arrow"),
            stem.with_suffix(".postings.arrow"),
        )


def _graph_search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    # Per-call parameters, not index.hnsw.efSearch: concurrent queries may want different widths.
    params = faiss.SearchParametersHNSW(efSearch=max(SEARCH_EF, 2 * k))  # type: ignore[attr-defined]  # absent from faiss's stubs
    similarity, labels = index.search(query.reshape(1, -1), min(k, index.ntotal), params=params)
    found = labels[0] >= 0
    return labels[0][found], similarity[0][found]


def _exact_search(
    index: faiss.Index, candidates: np.ndarray, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rank the candidate labels on their vectors, kept normalized in the graph's flat storage."""
    if not len(candidates):
        return candidates, np.zeros(0, np.float32)
    scores = index.reconstruct_batch(candidates) @ query
    best = np.argsort(-scores, kind="stable")[:k]
    return candidates[best], scores[best]


def _normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
