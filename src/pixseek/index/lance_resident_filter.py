"""Image filters evaluated in memory beside the resident snapshot: class postings and capture times.

Most images hold a few classes, so each class keeps a posting list (the labels holding it, with the
confidence) instead of a dense column: a class filter costs in proportion to its matches. The
semantics are those of `lance_filters.image_filter_sql` (`confidence_floor`, undated images failing
any date bound); tags are left to LanceDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pixseek.index.lance_filters import confidence_floor
from pixseek.index.lance_schema import ClassColumns
from pixseek.index.protocol import ImageFilter, as_utc

NO_DATE = np.iinfo(np.int64).min  # captured_at unknown
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def capture_times(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A captured_at column as int64 microseconds since the epoch, NO_DATE where unknown."""
    return np.asarray(pc.fill_null(column.cast(pa.int64()), NO_DATE).to_numpy(), dtype=np.int64)


def _micros(moment: datetime) -> int:
    return (as_utc(moment) - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class FilterColumns:
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # class column -> (labels ascending, confidence)
    captured_at: np.ndarray  # int64 microseconds since the epoch per label; NO_DATE when unknown

    @classmethod
    def collect(cls, batches: Iterable[pa.RecordBatch], columns: Sequence[str]) -> FilterColumns:
        """From record batches in label order, holding `captured_at` and the class `columns`."""
        labels: dict[str, list[np.ndarray]] = {c: [] for c in columns}
        confidences: dict[str, list[np.ndarray]] = {c: [] for c in columns}
        dates: list[np.ndarray] = []
        first = 0
        for batch in batches:
            for column in columns:
                values = batch.column(column).to_numpy(zero_copy_only=False)
                present = np.flatnonzero(values > 0)
                labels[column].append(present + first)
                confidences[column].append(values[present].astype(np.float32))
            dates.append(capture_times(batch.column("captured_at")))
            first += batch.num_rows
        postings = {c: (_joined(labels[c], np.int64), _joined(confidences[c], np.float32)) for c in columns}
        return cls(postings, _joined(dates, np.int64))

    def to_table(self) -> pa.Table:
        """One row per posting; the class column dictionary-encoded (no string per row to build)."""
        columns = list(self.postings)
        counts = [len(self.postings[c][0]) for c in columns]
        names = pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(np.arange(len(columns), dtype=np.int32), counts)),
            pa.array(columns, pa.string()),
        )
        return pa.table({
            "column": names,
            "label": pa.array(_joined([self.postings[c][0] for c in columns], np.int64)),
            "confidence": pa.array(_joined([self.postings[c][1] for c in columns], np.float32)),
        })  # fmt: skip

    @classmethod
    def from_table(cls, table: pa.Table, captured_at: np.ndarray) -> FilterColumns:
        names = table.column("column").combine_chunks()
        if not isinstance(names, pa.DictionaryArray):
            names = names.dictionary_encode()
        codes = names.indices.to_numpy(zero_copy_only=False)
        order = np.argsort(codes, kind="stable")  # group by class, labels still ascending within one
        bounds = np.cumsum(np.bincount(codes, minlength=len(names.dictionary)))[:-1]
        labels = np.split(table.column("label").to_numpy()[order], bounds)
        confidences = np.split(table.column("confidence").to_numpy()[order], bounds)
        postings = {
            str(name): (labels[i], confidences[i]) for i, name in enumerate(names.dictionary.to_pylist())
        }
        return cls(postings, captured_at)

    def handles(self, flt: ImageFilter) -> bool:
        """Whether `matching` can evaluate the filter (tags are LanceDB's)."""
        return not flt.tags

    def matching(self, flt: ImageFilter, classes: ClassColumns) -> np.ndarray | None:
        """Labels (ascending) passing the class and date parts of `flt`; None when they filter nothing."""
        candidates = None
        if flt.classes:
            strict, floor = confidence_floor(flt.min_confidence)
            per_class = []
            for name in flt.classes:
                labels, confidence = self.postings.get(classes.column(name), (np.zeros(0, np.int64),) * 2)
                per_class.append(labels[confidence > floor if strict else confidence >= floor])
            join = np.union1d if flt.classes_mode == "any" else np.intersect1d
            candidates = reduce(join, per_class)
        if flt.date_from is None and flt.date_to is None:
            return candidates
        dates = self.captured_at if candidates is None else self.captured_at[candidates]
        keep = dates != NO_DATE
        if flt.date_from is not None:
            keep &= dates >= _micros(flt.date_from)
        if flt.date_to is not None:
            keep &= dates <= _micros(flt.date_to)
        return np.flatnonzero(keep) if candidates is None else candidates[keep]


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
