"""docs/API.md is generated from the OpenAPI schema; it must match what the generator writes now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_api_docs.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_md_matches_the_openapi_schema() -> None:
    generator = load_generator()
    expected = generator.render(generator.openapi_schema())
    committed = (ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    assert committed == expected, f"docs/API.md is stale: run {generator.REGENERATE}"


def test_every_operation_has_a_curl_example() -> None:
    generator = load_generator()
    schema = generator.openapi_schema()
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert operations == set(generator.EXAMPLES)
