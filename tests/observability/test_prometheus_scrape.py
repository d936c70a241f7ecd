"""The API's metrics, read back through a real Prometheus that scraped `pixseek serve`."""

from __future__ import annotations

import math

import pytest
from tests.observability.conftest import Traffic, needs_prometheus
from tests.observability.servers import PrometheusProcess

from pixseek.api.metrics import REQUEST_BUCKETS, UNMATCHED

pytestmark = needs_prometheus


def series(prom: PrometheusProcess, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Labels (without __name__, job, instance) -> value of every series of `expr`."""
    out = {}
    for item in prom.query(expr):
        labels = {k: v for k, v in item["metric"].items() if k not in ("__name__", "job", "instance")}
        out[tuple(sorted(labels.items()))] = float(item["value"][1])
    return out


def value(prom: PrometheusProcess, expr: str) -> float:
    found = series(prom, expr)
    assert len(found) == 1, f"{expr}: expected one series, got {found}"
    return next(iter(found.values()))


@pytest.mark.parametrize(
    ("endpoint", "status", "at_least"),
    [
        ("/ingest/batch", "200", 1),
        ("/ingest/image", "200", 1),
        ("/search/text", "200", 2),
        ("/search/hybrid", "200", 1),
        ("/search/similar", "200", 1),
        ("/search/objects", "200", 1),
        ("/images/{image_id}/similar", "200", 1),
        ("/images/{image_id}", "404", 1),
        (UNMATCHED, "404", 1),
    ],
)
def test_requests_are_counted_by_route_template_and_status(
    prometheus: PrometheusProcess, traffic: Traffic, endpoint: str, status: str, at_least: int
) -> None:
    expr = f'visual_search_requests_total{{endpoint="{endpoint}",status="{status}"}}'
    assert value(prometheus, expr) >= at_least


def test_endpoint_labels_are_templates_never_raw_paths(
    prometheus: PrometheusProcess, traffic: Traffic
) -> None:
    endpoints = {dict(labels)["endpoint"] for labels in series(prometheus, "visual_search_requests_total")}
    assert all(image_id not in e for e in endpoints for image_id in traffic.image_ids)
    assert all(e == UNMATCHED or e.startswith("/") for e in endpoints)
    assert not any("123" in e or "0000" in e for e in endpoints)


def test_request_latency_histogram_has_the_plans_buckets(
    prometheus: PrometheusProcess, traffic: Traffic
) -> None:
    buckets = series(prometheus, 'visual_search_request_duration_seconds_bucket{endpoint="/search/text"}')
    bounds = sorted(float(dict(labels)["le"]) for labels in buckets)
    assert bounds == [*REQUEST_BUCKETS, math.inf]
    assert value(prometheus, 'visual_search_request_duration_seconds_count{endpoint="/search/text"}') >= 2


def test_embeddings_are_counted_by_type(prometheus: PrometheusProcess, traffic: Traffic) -> None:
    counts = {dict(k)["type"]: v for k, v in series(prometheus, "embeddings_generated_total").items()}
    assert counts["text"] >= 2  # "a cat" once (then cached), "a cup" once
    assert counts["image"] >= 4  # three ingested photos and one query image
    assert counts["object"] >= 1  # the detector finds the cat, the cup, the astronaut


@pytest.mark.parametrize("model", ["analyzer", "text_embedder", "image_embedder"])
def test_inference_latency_is_observed_per_model_and_backend(
    prometheus: PrometheusProcess, traffic: Traffic, model: str
) -> None:
    assert value(prometheus, f'inference_duration_seconds_count{{model="{model}",backend="local"}}') >= 1


@pytest.mark.parametrize("kind", ["upsert", "existing_ids", "search_images", "search_objects", "get"])
def test_store_latency_is_observed_per_backend_and_kind(
    prometheus: PrometheusProcess, traffic: Traffic, kind: str
) -> None:
    assert value(prometheus, f'store_query_duration_seconds_count{{backend="lancedb",kind="{kind}"}}') >= 1


def test_cache_size_and_hit_rate(prometheus: PrometheusProcess, traffic: Traffic) -> None:
    assert value(prometheus, "embedding_cache_size") >= 2  # "a cat", "a cup"
    assert 0 < value(prometheus, "embedding_cache_hit_rate") < 1  # "a cat" hit twice, each text missed once
    assert value(prometheus, 'embedding_cache_lookups_total{result="hit"}') >= 2


def test_ingest_outcomes_are_counted(prometheus: PrometheusProcess, traffic: Traffic) -> None:
    counts = {dict(k)["status"]: v for k, v in series(prometheus, "ingest_images_total").items()}
    assert counts == {"indexed": 3.0, "exists": 1.0, "rejected": 1.0}


def test_process_metrics_are_exported(prometheus: PrometheusProcess, traffic: Traffic) -> None:
    assert value(prometheus, "process_resident_memory_bytes") > 10_000_000
    assert value(prometheus, "process_cpu_seconds_total") > 0
