"""ImageFilter/ObjectFilter as OpenSearch query DSL, and the k-NN search bodies.

Filters go inside the `knn` clause (efficient filtering): the Lucene engine applies them during the
graph search, or searches the filtered documents exactly when few match, so a selective filter still
returns k hits. A `bool` filter around the knn clause would post-filter its k hits instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pixseek.index.opensearch_mapping import VECTOR_FIELDS, ClassFields, date_text
from pixseek.index.protocol import ImageFilter, ObjectFilter, Vector

# Lucene's HNSW explores max(k, ef_search) candidates; below this, recall for small k suffers. It must
# not follow the page either: with ef_search = max(k, 100), pages past the 100th result repeated and
# skipped images (tests/index/test_store_contract.py). Fixed up to offset + k = 1024.
MIN_EF_SEARCH = 1024
# OpenSearch's default `index.max_inner_result_window`: the most objects one image hit can carry.
MAX_OBJECTS_PER_HIT = 100

Query = dict[str, Any]


def _date_range(field: str, date_from: datetime | None, date_to: datetime | None) -> list[Query]:
    # A missing date fails any range, so undated images drop out once a bound is set.
    bounds = {}
    if date_from is not None:
        bounds["gte"] = date_text(date_from)
    if date_to is not None:
        bounds["lte"] = date_text(date_to)
    return [{"range": {field: bounds}}] if bounds else []


def _tags(field: str, tags: Sequence[str]) -> list[Query]:
    return [{"terms": {field: list(tags)}}] if tags else []


def _all_of(clauses: list[Query]) -> Query | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def image_filter_query(flt: ImageFilter, classes: ClassFields) -> Query | None:
    """The filter on image documents, or None when it filters nothing."""
    clauses: list[Query] = []
    if flt.classes:
        if flt.classes_mode not in ("any", "all"):
            raise ValueError(f"classes_mode must be 'any' or 'all', got {flt.classes_mode!r}")
        # class_conf holds only classes present, so gte 0 means "present at any confidence".
        per_class = [{"range": {classes.field(name): {"gte": flt.min_confidence}}} for name in flt.classes]
        if flt.classes_mode == "all":
            clauses += per_class
        else:
            clauses.append({"bool": {"should": per_class, "minimum_should_match": 1}})
    clauses += _date_range("captured_at", flt.date_from, flt.date_to)
    clauses += _tags("tags", flt.tags)
    if flt.exclude_ids:
        clauses.append({"bool": {"must_not": [{"ids": {"values": list(flt.exclude_ids)}}]}})
    return _all_of(clauses)


def object_filter_query(flt: ObjectFilter, classes: ClassFields) -> Query | None:
    """The filter on object (nested) documents, or None when it filters nothing."""
    clauses: list[Query] = []
    if flt.classes:
        for name in flt.classes:
            classes.field(name)  # raises on an unknown class
        clauses.append({"terms": {"objects.class_name": list(flt.classes)}})
    if flt.min_confidence > 0.0:
        clauses.append({"range": {"objects.confidence": {"gte": flt.min_confidence}}})
    clauses += _date_range("objects.captured_at", flt.date_from, flt.date_to)
    clauses += _tags("objects.tags", flt.tags)
    return _all_of(clauses)


def _knn(field: str, vector: Vector, k: int, flt: Query | None, **extra: Any) -> Query:
    clause: Query = {
        "vector": [float(x) for x in vector],
        "k": k,
        "method_parameters": {"ef_search": max(k, MIN_EF_SEARCH)},
        **extra,
    }
    if flt is not None:
        clause["filter"] = flt
    return {"knn": {field: clause}}


def image_search_body(vector: Vector, k: int, flt: Query | None) -> Query:
    return {
        "size": k,
        "_source": {"excludes": [*VECTOR_FIELDS, "objects"]},
        "query": _knn("vector", vector, k, flt),
    }


def object_search_body(vector: Vector, k: int, flt: Query | None) -> Query:
    """k images by their best object; inner_hits carries each image's matching objects, best first.

    The nested k-NN query keeps one best object per image; `expand_nested_docs` scores the image's
    other matching objects too, so two objects of one image can both be among the top k objects.
    Any top-k object belongs to one of the top-k images, so flattening these hits loses none.
    """
    return {
        "size": k,
        "_source": {"excludes": [*VECTOR_FIELDS, "objects"]},
        "query": {
            "nested": {
                "path": "objects",
                "score_mode": "max",
                "query": _knn("objects.vector", vector, k, flt, expand_nested_docs=True),
                "inner_hits": {
                    "size": min(k, MAX_OBJECTS_PER_HIT),
                    "_source": {"excludes": ["objects.vector", "objects.captured_at", "objects.tags"]},
                },
            }
        },
    }


def list_body(k: int, offset: int, flt: Query | None) -> Query:
    return {
        "from": offset,
        "size": k,
        "_source": {"excludes": [*VECTOR_FIELDS, "objects"]},
        "query": {"bool": {"filter": [flt]}} if flt is not None else {"match_all": {}},
        "sort": [
            {"captured_at": {"order": "desc", "missing": "_last"}},
            {"ingested_at": {"order": "desc"}},
            {"id": {"order": "asc"}},
        ],
    }


def cosine(score: float) -> float:
    # The Lucene engine scores cosinesimil as (1 + cosine) / 2.
    return 2.0 * score - 1.0
