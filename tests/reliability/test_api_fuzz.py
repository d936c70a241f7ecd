"""Schemathesis over every operation of /openapi.json, one by one and as linked sequences.

At least 1,000 generated requests per run (positive and negative data, with a key and, by the
`ignored_auth` check, without): no 5xx and every response as the schema documents it. The ingest
→ image links are added to a copy of the schema (FastAPI writes none), so stateful runs reach the
endpoints of images that exist.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.formats import unregister_string_format

from pixseek.api import create_app
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.ingest.pipeline import IngestItem
from pixseek.models.starter.pack import StarterPack
from tests.reliability.conftest import noise_png, photo_jpeg, record_figures

KEY = "fuzz-key"
MIN_CASES = 1000
EXAMPLES = {GenerationMode.POSITIVE: 45, GenerationMode.NEGATIVE: 25}  # per operation
STATEFUL_SCENARIOS = 40
# Schema-valid input may still be refused on meaning (an unknown class, a window past 10,000, a
# query over max_query_chars): those 422s are right, so positive-data acceptance is not checked.
EXCLUDED: list[CheckFunction] = [positive_data_acceptance]

# An upload part: a real image (ingest succeeds and links fire) or arbitrary bytes (refused).
IMAGE_PARTS = st.one_of(
    st.integers(0, 10**6).map(photo_jpeg), st.integers(0, 10**6).map(noise_png), st.binary(max_size=512)
)
IMAGE_LINKS = {
    "GetImage": ("get", "/images/{image_id}"),
    "GetFile": ("get", "/images/{image_id}/file"),
    "GetThumbnail": ("get", "/images/{image_id}/thumbnail"),
    "GetSimilar": ("get", "/images/{image_id}/similar"),
    "DeleteImage": ("delete", "/images/{image_id}"),
}


def linked_schema(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with binary upload parts and links from each image id an answer names to that image."""
    for name, body in raw["components"]["schemas"].items():
        if name.startswith("Body_"):
            for prop in body["properties"].values():
                target = prop.get("items", prop)
                target.pop("contentMediaType", None)
                target["format"] = "binary"
    paths = raw["paths"]
    sources = {("post", "/ingest/image"): "$response.body#/image_id",
               ("get", "/search/text"): "$response.body#/0/image_id",
               ("post", "/search/hybrid"): "$response.body#/0/image_id"}  # fmt: skip
    for (method, path), expression in sources.items():
        paths[path][method]["responses"]["200"]["links"] = {
            name: {"operationId": paths[target][verb]["operationId"], "parameters": {"image_id": expression}}
            for name, (verb, target) in IMAGE_LINKS.items()
        }
    return raw


@pytest.fixture(scope="module")
def fuzz_schema(
    tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path, starter_pack: StarterPack
) -> Iterator[Any]:
    db = tmp_path_factory.mktemp("fuzz") / "db"
    settings = Settings(db=db, cache_dir=model_cache_dir, api_key=KEY, max_upload_bytes=2_000_000)
    engine = Engine.open(settings, pack=starter_pack)
    engine.ingestor.ingest([IngestItem(photo_jpeg(seed), f"{seed}.jpg") for seed in range(3)])
    app = create_app(engine=engine)
    app.state.pixseek.status = "ready"  # no lifespan under schemathesis: the engine is open and warm
    app.openapi_schema = linked_schema(app.openapi())
    schemathesis.openapi.format("binary", IMAGE_PARTS)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The key is sent by the tests, not generated: negative data is about the operations' own
    # inputs. Unknown query parameters are ignored by design (as most HTTP APIs do), not refused.
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    try:
        yield schema
    finally:
        unregister_string_format("binary")
        engine.close()


def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(fuzz_schema: Any) -> None:
    started = time.monotonic()
    calls: list[tuple[str, int]] = []
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    in_schema = sum(len(methods) for methods in fuzz_schema.raw_schema["paths"].values())
    assert len(operations) == in_schema >= 14
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            if mode.is_positive or has_inputs(operation):  # nothing to make invalid in GET /
                fuzz_operation(operation, mode, examples, calls)
    per_operation = len(calls)
    calls += run_stateful(fuzz_schema)

    statuses = sorted({status for _, status in calls})
    record_figures("api_fuzz", cases=len(calls), operation_cases=per_operation,
                   stateful_calls=len(calls) - per_operation, operations=len(operations),
                   statuses=statuses, seconds=round(time.monotonic() - started, 1))  # fmt: skip
    assert len(calls) >= MIN_CASES
    assert not [call for call in calls if call[1] >= 500]
    # The fuzzing went deep enough to matter: images were stored, found and served.
    reached = {label for label, status in calls if status == 200}
    assert {"POST /ingest/image", "GET /images/{image_id}", "GET /images/{image_id}/file"} <= reached


def has_inputs(operation: Any) -> bool:
    return bool(len(operation.path_parameters) or len(operation.query) or len(operation.body))


def fuzz_operation(operation: Any, mode: GenerationMode, examples: int, calls: list[tuple[str, int]]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, headers={"X-API-Key": KEY}))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        response = case.call()
        calls.append((operation.label, response.status_code))
        case.validate_response(response, excluded_checks=EXCLUDED)

    check()


def run_stateful(schema: Any) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": {"X-API-Key": KEY}}

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            calls.append((case.operation.label, response.status_code))

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(response, headers={"X-API-Key": KEY}, excluded_checks=EXCLUDED)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    return calls
