"""One call that gives an app its metrics endpoint, request metrics and request ids.

The timing of models and store calls is added to the engine by `instrument_engine` when the engine
is opened (see observability_instrument).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from pixseek.api.metrics import CacheMetrics
from pixseek.api.metrics import router as metrics_router
from pixseek.api.observability_instrument import instrument_engine
from pixseek.api.observability_middleware import RequestIdMiddleware, RequestMetricsMiddleware
from pixseek.engine import Engine

__all__ = ["install_observability", "instrument_engine"]


def install_observability(app: FastAPI, current_engine: Callable[[], Engine | None]) -> None:
    """Add `GET /metrics` and the request-id and request-metrics middlewares (outermost).

    Call it after the app's other middlewares are added, so that requests they answer themselves
    (401, 413) are counted and carry a request id too. `current_engine` gives the engine once it is
    open (None before): its text cache is mirrored into the metrics after each request.
    """
    cache_metrics = CacheMetrics()

    def sync_cache() -> None:
        engine = current_engine()
        if engine is not None:
            cache_metrics.sync(engine.cache.stats())

    app.include_router(metrics_router)
    app.add_middleware(RequestMetricsMiddleware, after_request=sync_cache)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, so every log line has the id
