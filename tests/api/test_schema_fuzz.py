"""Property-based fuzzing from /openapi.json (schemathesis): no 5xx, every response as documented."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pixseek.api import create_app
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.ingest.pipeline import IngestItem
from pixseek.models.starter.pack import StarterPack
from tests.helpers import jpeg_bytes

KEY = "fuzz-key"
EXAMPLES_PER_OPERATION = 12  # kept small here; a nightly job may raise it


@pytest.fixture(scope="module")
def fuzz_schema(
    tmp_path_factory: pytest.TempPathFactory, api_settings: Settings, starter_pack: StarterPack
) -> Iterator[Any]:
    settings = api_settings.model_copy(update={"db": tmp_path_factory.mktemp("fuzz") / "db", "api_key": KEY})
    engine = Engine.open(settings, pack=starter_pack)
    engine.ingestor.ingest([IngestItem(jpeg_bytes(seed), f"{seed}.jpg") for seed in (1, 2)])
    app = create_app(engine=engine)
    # Schemathesis calls the app without running its lifespan; this engine is open and warm.
    app.state.pixseek.status = "ready"
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    engine.close()


def test_api_honours_its_openapi_schema(fuzz_schema: Any) -> None:
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:
        fuzz_operation(operation)


def fuzz_operation(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # Schema-valid input may still be refused on meaning (an unknown class, a blank query, a
        # window past 10,000): those 422s are correct, so positive-data acceptance is not checked.
        case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=[positive_data_acceptance])

    check()
