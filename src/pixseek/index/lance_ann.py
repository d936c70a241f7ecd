"""When the LanceDB store builds its vector and scalar indexes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from lancedb.index import Bitmap, BTree, HnswSq, LabelList
from lancedb.table import Table

from pixseek.index.lance_schema import VECTOR_COLUMN

DISTANCE: Final = "cosine"
ScalarIndexes = Mapping[str, BTree | Bitmap | LabelList]


def partitions_for(rows: int) -> int:
    """IVF partitions: about sqrt(rows)/8, so each HNSW graph holds a few thousand to tens of thousands."""
    return max(1, round(math.sqrt(rows) / 8))


def vector_index_name(table: Table) -> str | None:
    for index in table.list_indices():
        if VECTOR_COLUMN in index.columns:
            return index.name
    return None


def unindexed_rows(table: Table) -> int | None:
    """Rows the vector index does not cover yet (flat-scanned by queries); None without an index."""
    name = vector_index_name(table)
    stats = table.index_stats(name) if name is not None else None
    return None if stats is None else stats.num_unindexed_rows


class IndexPolicy:
    """Exact search below `ann_threshold` rows; above it an IVF_HNSW_SQ index plus scalar indexes."""

    def __init__(self, ann_threshold: int) -> None:
        self.ann_threshold = ann_threshold

    def build(self, table: Table, scalar: ScalarIndexes) -> None:
        """(Re)build the vector index and the scalar indexes, {column: index config}."""
        rows = table.count_rows()
        table.create_index(
            VECTOR_COLUMN,
            config=HnswSq(distance_type=DISTANCE, num_partitions=partitions_for(rows)),
            replace=True,
        )
        for column, config in scalar.items():
            table.create_index(column, config=config, replace=True)

    def maintain(self, table: Table, scalar: ScalarIndexes, *, refresh: bool = False) -> None:
        """Build the indexes once the table reaches the threshold; fold new rows in when refreshing
        or once the unindexed tail is itself that large (queries flat-scan it)."""
        unindexed = unindexed_rows(table)
        if unindexed is None:
            if table.count_rows() >= self.ann_threshold:
                self.build(table, scalar)
            elif refresh:
                table.optimize()  # compacts the small fragments that single upserts leave
        elif refresh or unindexed >= self.ann_threshold:
            table.optimize()
