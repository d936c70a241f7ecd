"""Write docs/API.md from the app's OpenAPI schema, with a curl example per operation.

    .venv/bin/python scripts/gen_api_docs.py            # rewrite docs/API.md
    .venv/bin/python scripts/gen_api_docs.py --check    # exit 1 if docs/API.md is stale

The schema comes from `create_app(...).openapi()`: the app factory opens no store and loads no
model until the server starts, so nothing but pixseek itself is needed. tests/docs fails when the
committed file differs from what this script writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "API.md"
REGENERATE = ".venv/bin/python scripts/gen_api_docs.py"

Schema = Mapping[str, Any]

# One example per operation, keyed by (method, path). An operation without one fails the script, so
# a new route cannot be published without an example.
EXAMPLES: dict[tuple[str, str], str] = {
    ("GET", "/"): 'curl -s "$BASE/"',
    ("GET", "/health"): 'curl -s "$BASE/health"',
    ("GET", "/classes"): 'curl -s "$BASE/classes"',
    ("GET", "/tags"): 'curl -s "$BASE/tags"',
    ("GET", "/images"): 'curl -s "$BASE/images?k=20&offset=0&tags=holiday&date_from=2024-01-01"',
    ("POST", "/ingest/image"): 'curl -s -F "image=@photo.jpg" "$BASE/ingest/image?tags=holiday,2024"',
    ("POST", "/ingest/batch"): (
        'curl -s -F "images=@a.jpg" -F "images=@b.png" "$BASE/ingest/batch?tags=holiday"'
    ),
    ("GET", "/search/text"): 'curl -s -G "$BASE/search/text" --data-urlencode "q=a dog on the beach" -d k=10',
    ("POST", "/search/hybrid"): """curl -s "$BASE/search/hybrid" -H "Content-Type: application/json" -d '{
  "text_query": "people at a table",
  "yolo_classes": ["person", "dining table"], "classes_mode": "all", "min_confidence": 0.6,
  "date_from": "2024-01-01", "date_to": "2024-12-31", "tags": ["holiday"],
  "k": 20, "sort": "date"
}'""",
    ("POST", "/search/similar"): 'curl -s -F "image=@query.jpg" "$BASE/search/similar?k=10&min_score=0.3"',
    ("POST", "/search/objects"): """curl -s "$BASE/search/objects" -H "Content-Type: application/json" -d '{
  "text_query": "a red car", "yolo_classes": ["car"], "min_confidence": 0.5, "k": 10
}'""",
    ("GET", "/images/{image_id}"): 'curl -s "$BASE/images/$ID"',
    ("DELETE", "/images/{image_id}"): 'curl -s -X DELETE "$BASE/images/$ID"',
    ("GET", "/images/{image_id}/file"): 'curl -s -o original "$BASE/images/$ID/file"',
    ("GET", "/images/{image_id}/thumbnail"): 'curl -s -o thumb.jpg "$BASE/images/$ID/thumbnail?size=256"',
    ("GET", "/images/{image_id}/similar"): 'curl -s "$BASE/images/$ID/similar?k=10&offset=10"',
}

INTRO = """\
# HTTP API

<!-- Generated from the app's OpenAPI schema by scripts/gen_api_docs.py: do not edit by hand. -->

`pixseek serve` serves this API (default `http://127.0.0.1:8000`), the interactive docs at `/docs`
and `/redoc` (their scripts come from the server itself: they work offline), the schema at
`/openapi.json`, Prometheus metrics at `/metrics` (not in the schema; see
[deploy/README.md](../deploy/README.md#metrics-and-logs)) and the web UI at `/ui`.

The examples assume `BASE=http://127.0.0.1:8000` and, for routes under `/images/`, `ID` set to an
`image_id` from an ingest or search answer (the sha256 of the image's bytes, 64 hex digits).

**Authentication.** When the server has `PIXSEEK_API_KEY` set, every path except `/`, `/health`,
`/metrics`, `/openapi.json`, `/docs`, `/redoc` and `/ui` needs the header `X-API-Key` (add
`-H "X-API-Key: $PIXSEEK_API_KEY"` to the examples); without it the answer is 401. Without the
setting the API is open.

Every GET route also answers HEAD: the same status and headers, without the body. The file and
thumbnail routes send an ETag and answer a GET whose `If-None-Match` names it with 304 Not Modified;
neither that nor HEAD reads the file.

**Capture dates** come from EXIF (DateTimeOriginal, else DateTime) and are stored in UTC: the
camera's local time is converted with its recorded offset (OffsetTimeOriginal / OffsetTime), and
read as UTC when it recorded none, as cameras before EXIF 2.31 did. (Images stored before
pixseek read the offset keep their local time as UTC: re-reading a known image is skipped, so
delete and index them again to convert them.) Date bounds are UTC too (an
offset given in a bound is honoured); a bare date is that whole UTC day.

The searches that take their options in the query string (`GET /search/text`, `POST /search/similar`,
`GET /images/{id}/similar`) and `GET /images` take the hybrid search's filters there too. Every
`/search/…` route, `GET /images` and `GET /images/{id}/similar` answer 422 for a query parameter
they do not take (the JSON searches take none): a misspelt filter is refused, not silently ignored.

**Readiness.** Models load after start-up; until they are warm, every route that needs them answers
503 `not_ready` with `Retry-After: 5`, and `/health` answers 503 with its usual body (`status`
`starting`, or `failed` with the `error`) and the same header.

**Errors** have one shape, `{"error": {"code": ..., "message": ..., "details": ...}}`. Codes:
`bad_request` (400), `invalid_image` (400, undecodable or over `PIXSEEK_MAX_IMAGE_PIXELS`),
`unauthorized` (401), `not_found` (404), `file_unavailable` (404, the stored file is gone),
`method_not_allowed` (405), `payload_too_large` (413, body over `PIXSEEK_MAX_UPLOAD_BYTES`),
`unsupported_media_type` (415), `validation_error` (422), `internal_error` (500), `not_ready` (503)
and `busy` (503, more than `PIXSEEK_MAX_PENDING_INGESTS` ingest uploads, or as many image searches, in
progress; `Retry-After: 2`).
Limits and their settings are listed in [SECURITY.md](SECURITY.md#limits-and-their-settings).
"""


def openapi_schema() -> dict[str, Any]:
    """The schema of an app built from default settings; nothing is opened or loaded."""
    from pixseek.api.app import create_app
    from pixseek.config import Settings

    with tempfile.TemporaryDirectory(prefix="pixseek-apidocs-") as folder:
        schema: dict[str, Any] = create_app(Settings(db=Path(folder) / "db")).openapi()
    return schema


def render(schema: Schema) -> str:
    operations = list(_operations(schema))
    _check_examples(operations)
    parts = [INTRO, _index(operations)]
    for tag in _tags(operations):
        parts.append(f"## {tag.capitalize()}\n")
        tagged = [(method, path, op) for method, path, op in operations if _tag(op) == tag]
        parts.extend(_operation(schema, method, path, op) for method, path, op in tagged)
    parts.append(_schemas(schema))
    return "\n".join(parts).rstrip() + "\n"


def _operations(schema: Schema) -> list[tuple[str, str, Schema]]:
    return [
        (method.upper(), path, op)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]


def _check_examples(operations: Sequence[tuple[str, str, Schema]]) -> None:
    present = {(method, path) for method, path, _ in operations}
    missing = sorted(present - EXAMPLES.keys())
    stale = sorted(EXAMPLES.keys() - present)
    if missing or stale:
        raise SystemExit(
            f"scripts/gen_api_docs.py EXAMPLES: add a curl example for {missing}; remove {stale}"
        )


def _tag(op: Schema) -> str:
    tags = op.get("tags") or ["other"]
    return str(tags[0])


def _tags(operations: Sequence[tuple[str, str, Schema]]) -> list[str]:
    return list(dict.fromkeys(_tag(op) for _, _, op in operations))


def _anchor(method: str, path: str) -> str:
    text = f"{method} {path}".lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def _index(operations: Sequence[tuple[str, str, Schema]]) -> str:
    rows = ["| method | path | what |", "|---|---|---|"]
    for method, path, op in operations:
        rows.append(f"| {method} | [`{path}`](#{_anchor(method, path)}) | {op.get('summary', '')} |")
    return "## Endpoints\n\n" + "\n".join(rows) + "\n"


def _operation(schema: Schema, method: str, path: str, op: Schema) -> str:
    lines = [f"### {method} {path}\n", f"{op.get('summary', '')}.\n"]
    if op.get("description"):
        lines.append(f"{op['description']}\n")
    if op.get("security"):
        lines.append("Needs `X-API-Key` when the server sets `PIXSEEK_API_KEY`.\n")
    params = op.get("parameters", [])
    if params:
        lines.append("| parameter | in | type | default | description |")
        lines.append("|---|---|---|---|---|")
        for param in params:
            field = {**param.get("schema", {}), "description": param.get("description", "")}
            required = " (required)" if param.get("required") else ""
            lines.append(
                f"| `{param['name']}`{required} | {param['in']} | {_type(field)} | {_default(field)} "
                f"| {_cell(field.get('description', ''))} |"
            )
        lines.append("")
    body = op.get("requestBody")
    if body:
        for media, content in body["content"].items():
            model = _resolve(schema, content["schema"])
            if str(content["schema"].get("$ref", "")).rsplit("/", 1)[-1].startswith("Body_"):
                lines.append(f"Body: `{media}` with the fields:\n")  # FastAPI's form model: inline
            else:
                lines.append(f"Body: `{media}`, {_type(content['schema'])}:\n")
            lines.extend(_fields(schema, model))
    lines.append("| status | meaning | body |")
    lines.append("|---|---|---|")
    for status, response in sorted(op["responses"].items(), key=lambda item: str(item[0])):
        lines.append(f"| {status} | {response.get('description', '')} | {_body(response)} |")
    lines.append("")
    lines.append(f"```bash\n{EXAMPLES[(method, path)]}\n```\n")
    return "\n".join(lines)


def _body(response: Schema) -> str:
    """`type (media)`; media types sharing one type are listed together (e.g. the image formats)."""
    by_type: dict[str, list[str]] = {}
    for media, content in response.get("content", {}).items():
        if "schema" in content:
            by_type.setdefault(_type(content["schema"]), []).append(f"`{media}`")
    return ", ".join(f"{kind} ({', '.join(media)})" for kind, media in by_type.items()) or "—"


def _resolve(schema: Schema, node: Schema) -> Schema:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = schema
    for part in str(ref).removeprefix("#/").split("/"):
        target = target[part]
    resolved: Schema = target
    return resolved


def _fields(schema: Schema, model: Schema) -> list[str]:
    properties: Mapping[str, Schema] = model.get("properties", {})
    if not properties:
        return []
    required = set(model.get("required", []))
    lines = ["| field | type | default | description |", "|---|---|---|---|"]
    for name, field in properties.items():
        mark = " (required)" if name in required else ""
        lines.append(
            f"| `{name}`{mark} | {_type(field)} | {_default(field)} | {_cell(field.get('description', ''))} |"
        )
    if model.get("additionalProperties") is False:
        lines.append("\nOther fields are refused (422).")
    lines.append("")
    return lines


def _type(node: Schema) -> str:
    """A short type for a JSON-schema node: `string`, `integer 1…1000`, `list of string` or a model."""
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in node:
        options = [_type(option) for option in node["anyOf"] if option.get("type") != "null"]
        nullable = any(option.get("type") == "null" for option in node["anyOf"])
        return " or ".join(options) + (" or null" if nullable else "")
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    kind = str(node.get("type", "any"))
    if kind == "array":
        text = f"list of {_type(node.get('items', {}))}"
    elif node.get("format") == "binary" or "contentMediaType" in node:
        text = "file"
    else:
        text = kind + (f" ({node['format']})" if "format" in node else "")
    return text + _limits(node)


def _limits(node: Schema) -> str:
    low = node.get("minimum", node.get("minLength", node.get("minItems")))
    high = node.get("maximum", node.get("maxLength", node.get("maxItems")))
    unit = " chars" if "maxLength" in node or "minLength" in node else ""
    unit = " items" if "maxItems" in node or "minItems" in node else unit
    pattern = f", pattern `{node['pattern']}`" if "pattern" in node else ""
    if low is None and high is None:
        return pattern
    low_text = "" if low is None else _number(low)
    high_text = "" if high is None else _number(high)
    return f" {low_text}…{high_text}{unit}{pattern}"


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _default(field: Schema) -> str:
    if "default" not in field:
        return "—"
    value = field["default"]
    return "null" if value is None else f"`{_number(value) if isinstance(value, float) else value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _schemas(schema: Schema) -> str:
    parts = ["## Schemas\n"]
    for name, model in schema["components"]["schemas"].items():
        if name.startswith("Body_"):
            continue  # multipart bodies: listed with their operation
        parts.append(f"### {name}\n")
        if model.get("description"):
            parts.append(f"{_cell(model['description'])}\n")
        parts.extend(_fields(schema, model))
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale; write nothing")
    parser.add_argument("--out", type=Path, default=API_MD)
    args = parser.parse_args(argv)
    text = render(openapi_schema())
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
