"""ImageFilter and ObjectFilter as LanceDB SQL predicates: the one place that writes SQL from user input."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from pixseek.index.lance_schema import ClassColumns
from pixseek.index.protocol import ImageFilter, ObjectFilter, as_utc


def sql_string(value: str) -> str:
    # Standard SQL quoting; the parser treats backslashes literally.
    return "'" + value.replace("'", "''") + "'"


def sql_string_list(values: Sequence[str]) -> str:
    return ", ".join(sql_string(v) for v in values)


def sql_timestamp(moment: datetime) -> str:
    # isoformat, not strftime: glibc's %Y does not pad years below 1000 to four digits.
    return f"TIMESTAMP '{as_utc(moment).replace(tzinfo=None).isoformat(sep=' ', timespec='microseconds')}'"


def confidence_floor(min_confidence: float) -> tuple[bool, np.float32]:
    """(strict, value): a class is present at confidence c when c > value (strict) or c >= value.

    At 0 it must be strictly above (absent classes hold 0); otherwise the comparison is with the
    float32 the column stores, so a confidence equal to the threshold passes.
    """
    if min_confidence <= 0.0:
        return True, np.float32(0.0)
    return False, np.float32(min_confidence)


def _confidence_at_least(column: str, min_confidence: float) -> str:
    strict, value = confidence_floor(min_confidence)
    return f"{column} {'>' if strict else '>='} {float(value)!r}"


def _date_and_tag_clauses(
    date_from: datetime | None, date_to: datetime | None, tags: Sequence[str]
) -> list[str]:
    # A NULL captured_at fails any comparison, so undated images drop out once a date filter is set.
    clauses = []
    if date_from is not None:
        clauses.append(f"captured_at >= {sql_timestamp(date_from)}")
    if date_to is not None:
        clauses.append(f"captured_at <= {sql_timestamp(date_to)}")
    if tags:
        clauses.append(f"array_has_any(tags, [{sql_string_list(tags)}])")
    return clauses


def _joined(clauses: Sequence[str]) -> str | None:
    return " AND ".join(f"({c})" for c in clauses) if clauses else None


def image_filter_sql(flt: ImageFilter, classes: ClassColumns) -> str | None:
    """The WHERE clause over the images table, or None when the filter is empty."""
    clauses = []
    if flt.classes:
        if flt.classes_mode not in ("any", "all"):
            raise ValueError(f"classes_mode must be 'any' or 'all', got {flt.classes_mode!r}")
        per_class = [_confidence_at_least(classes.column(c), flt.min_confidence) for c in flt.classes]
        clauses.append((" OR " if flt.classes_mode == "any" else " AND ").join(per_class))
    clauses += _date_and_tag_clauses(flt.date_from, flt.date_to, flt.tags)
    if flt.exclude_ids:
        clauses.append(f"id NOT IN ({sql_string_list(flt.exclude_ids)})")
    return _joined(clauses)


def object_filter_sql(flt: ObjectFilter, classes: ClassColumns) -> str | None:
    """The WHERE clause over the objects table, or None when the filter is empty."""
    clauses = []
    if flt.classes:
        for name in flt.classes:
            classes.column(name)  # raises on an unknown class
        clauses.append(f"class_name IN ({sql_string_list(flt.classes)})")
    if flt.min_confidence > 0.0:
        clauses.append(_confidence_at_least("confidence", flt.min_confidence))
    clauses += _date_and_tag_clauses(flt.date_from, flt.date_to, flt.tags)
    return _joined(clauses)
