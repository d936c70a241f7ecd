"""The Grafana dashboard: every query runs on a real Prometheus and names only metrics the app exports."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.observability.conftest import Traffic, needs_prometheus
from tests.observability.servers import DEPLOY, PrometheusProcess, ServeProcess

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "pixseek.json"
# What Grafana puts in for $__rate_interval with a short scrape interval; Prometheus knows no variables.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
PROMQL_WORDS = frozenset(
    {"sum", "avg", "min", "max", "count", "rate", "irate", "increase", "histogram_quantile", "vector"}
    | {"scalar", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset"}
)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def targets() -> list[tuple[str, str]]:
    """(panel title / refId, PromQL) of every query in the dashboard."""
    panels = dashboard()["panels"]
    return [(f"{p['title']}/{t['refId']}", t["expr"]) for p in panels for t in p.get("targets", [])]


def expressions() -> list[str]:
    return [expr for _, expr in targets()]


def runnable(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (not functions, keywords, label names or values)."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", bare)
    return {name for name in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare) if name not in PROMQL_WORDS}


def test_dashboard_covers_the_planned_panels() -> None:
    titles = " ".join(panel["title"].lower() for panel in dashboard()["panels"])
    for topic in ("request rate", "error", "latency", "inference", "store", "cache", "ingest"):
        assert topic in titles
    latency = next(p for p in dashboard()["panels"] if p["title"].startswith("Latency by endpoint"))
    quantiles = {
        q for t in latency["targets"] for q in re.findall(r"histogram_quantile\(([\d.]+)", t["expr"])
    }
    assert quantiles == {"0.5", "0.95", "0.99"}


def test_dashboard_uses_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    for panel in dashboard()["panels"]:
        assert panel["datasource"]["uid"] == uid
        assert all(target["datasource"]["uid"] == uid for target in panel["targets"])


def test_every_metric_the_dashboard_names_is_exported(live_api: ServeProcess, traffic: Traffic) -> None:
    exposition = live_api.get("/metrics").text
    exported = {
        sample.name for family in text_string_to_metric_families(exposition) for sample in family.samples
    }
    named = set().union(*(metric_names(expr) for expr in expressions()))
    assert named, "no metric names found in the dashboard"
    assert named <= exported, f"not exported by the app: {sorted(named - exported)}"


@needs_prometheus
@pytest.mark.parametrize("expr", [pytest.param(expr, id=name) for name, expr in targets()])
def test_dashboard_query_runs_and_returns_data(
    prometheus: PrometheusProcess, traffic: Traffic, expr: str
) -> None:
    # At the end of the traffic, so that every rate window holds it.
    result = prometheus.query(runnable(expr), at=traffic.finished_at + 2)
    assert result, f"no data for {expr}"
    values = [float(item["value"][1]) for item in result]
    assert any(math.isfinite(v) for v in values), f"only NaN for {expr}: {result}"
