"""How hits and records look on a terminal (tables) and to machines (JSON-ready dicts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pixseek.index.protocol import ImageHit, ImageRecord, ObjectHit
from pixseek.models.types import Detection


def detection_dict(detection: Detection) -> dict[str, Any]:
    box = detection.box
    return {
        "class_id": detection.class_id,
        "class_name": detection.class_name,
        "confidence": round(detection.confidence, 4),
        "bbox": {"x1": box.x1, "y1": box.y1, "x2": box.x2, "y2": box.y2},
    }


def record_dict(record: ImageRecord) -> dict[str, Any]:
    return {
        "image_id": record.id,
        "filename": record.filename,
        "path": record.path,
        "width": record.width,
        "height": record.height,
        "captured_at": record.captured_at.isoformat() if record.captured_at else None,
        "ingested_at": record.ingested_at.isoformat(),
        "tags": list(record.tags),
        "num_detections": len(record.detections),
        "detections": [detection_dict(d) for d in record.detections],
    }


def image_hit_dict(hit: ImageHit) -> dict[str, Any]:
    return {"score": round(hit.score, 6), **record_dict(hit.record)}


def object_hit_dict(hit: ObjectHit) -> dict[str, Any]:
    return {
        "score": round(hit.score, 6),
        "object_index": hit.object_index,
        "object": detection_dict(hit.detection),
        **record_dict(hit.record),
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def summarize_classes(detections: Sequence[Detection], limit: int = 4) -> str:
    counts: dict[str, int] = {}
    for detection in detections:
        counts[detection.class_name] = counts.get(detection.class_name, 0) + 1
    parts = [f"{name}×{n}" if n > 1 else name for name, n in list(counts.items())[:limit]]
    return ", ".join(parts) or "-"


def image_hits_table(hits: Sequence[ImageHit]) -> str:
    rows = [
        (rank, f"{hit.score:.3f}", hit.record.filename, captured_day(hit.record),
         summarize_classes(hit.record.detections), hit.record.id[:12])
        for rank, hit in enumerate(hits, 1)
    ]  # fmt: skip
    return table(("#", "score", "file", "captured", "objects", "id"), rows) if rows else "no results"


def records_table(records: Sequence[ImageRecord]) -> str:
    rows = [
        (record.filename, captured_day(record), ", ".join(record.tags) or "-",
         summarize_classes(record.detections), record.id[:12])
        for record in records
    ]  # fmt: skip
    return table(("file", "captured", "tags", "objects", "id"), rows) if rows else "no images"


def captured_day(record: ImageRecord) -> str:
    return "-" if record.captured_at is None else record.captured_at.date().isoformat()


def object_hits_table(hits: Sequence[ObjectHit]) -> str:
    rows = []
    for rank, hit in enumerate(hits, 1):
        box = hit.detection.box
        corners = f"({box.x1:.0f},{box.y1:.0f})-({box.x2:.0f},{box.y2:.0f})"
        rows.append((rank, f"{hit.score:.3f}", hit.record.filename, hit.detection.class_name,
                     f"{hit.detection.confidence:.2f}", corners, hit.record.id[:12]))  # fmt: skip
    return table(("#", "score", "file", "class", "conf", "box", "id"), rows) if rows else "no results"
