"""When the LanceDB store builds its indexes, and how a vector query uses them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyarrow as pa
from lancedb.index import BTree, HnswSq, LabelList
from lancedb.table import Table

from pixseek.index.lance_schema import VECTOR_COLUMN
from pixseek.index.protocol import Vector

DISTANCE = "cosine"
# A filter matching this few rows is answered by an exact scan of them: cheap, and an ANN index probing
# its nearest partitions could miss matches that lie elsewhere.
EXACT_SCAN_MAX_ROWS = 20_000
# Query-time effort of the HNSW graphs in each IVF partition (candidates kept per query, at least).
MIN_EF = 64
NPROBES = 16


def partitions_for(rows: int) -> int:
    """IVF partitions: about sqrt(rows)/8, so each HNSW graph holds a few thousand to tens of thousands."""
    return max(1, round(math.sqrt(rows) / 8))


def vector_index_name(table: Table) -> str | None:
    for index in table.list_indices():
        if VECTOR_COLUMN in index.columns:
            return index.name
    return None


class IndexPolicy:
    """Exact search below `ann_threshold` rows; above it an IVF_HNSW_SQ index plus scalar indexes."""

    def __init__(self, ann_threshold: int) -> None:
        self.ann_threshold = ann_threshold

    def build(self, table: Table, scalar: dict[str, str]) -> None:
        """(Re)build the vector index and the scalar indexes named {column: "BTREE" | "LABEL_LIST"}."""
        rows = table.count_rows()
        table.create_index(
            VECTOR_COLUMN,
            config=HnswSq(distance_type=DISTANCE, num_partitions=partitions_for(rows)),
            replace=True,
        )
        for column, kind in scalar.items():
            table.create_index(column, config=BTree() if kind == "BTREE" else LabelList(), replace=True)

    def maintain(self, table: Table, scalar: dict[str, str], *, force: bool = False) -> None:
        """Build indexes once the table is large enough; fold new rows in once the unindexed tail is."""
        name = vector_index_name(table)
        if name is None:
            if force or table.count_rows() >= self.ann_threshold:
                self.build(table, scalar)
            return
        stats = table.index_stats(name)
        unindexed = stats.num_unindexed_rows if stats else 0
        # Unindexed rows are flat-scanned on every query; fold them in before that scan grows costly.
        if force or unindexed >= self.ann_threshold:
            table.optimize()

    def vector_query(
        self, table: Table, vector: Vector, k: int, where: str | None, columns: Sequence[str]
    ) -> pa.Table:
        """The k nearest rows matching `where` (pre-filtered), with a `_distance` column."""
        query = table.search(vector, vector_column_name=VECTOR_COLUMN).distance_type(DISTANCE)
        query = query.select([*columns, "_distance"]).limit(k)
        if where is not None:
            query = query.where(where, prefilter=True)
            if table.count_rows(where) <= EXACT_SCAN_MAX_ROWS:
                return query.bypass_vector_index().to_arrow()
        return query.nprobes(NPROBES).ef(max(MIN_EF, 2 * k)).to_arrow()
