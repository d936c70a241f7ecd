"""Pure ASGI middleware: a request id per request, and request count and latency per route template.

Pure ASGI rather than BaseHTTPMiddleware: streamed bodies pass through untouched and the latency runs
until the last byte is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixseek.api.logs import bind_request_id, choose_request_id, unbind_request_id
from pixseek.api.metrics import REQUEST_DURATION, REQUESTS, UNMATCHED

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Takes the client's X-Request-ID when sane (else makes one), binds it for logs, echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = choose_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = bind_request_id(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            unbind_request_id(token)


def endpoint_label(scope: Scope, entry_root_path: str) -> str:
    """The matched route's template ("/images/{image_id}"), or UNMATCHED when no route matched.

    A route inside a mounted sub-app gets the mount's prefix (its literal path: pixseek mounts no
    path with parameters); a mount that is itself the match (static files) gives its own template.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED
    if isinstance(route, Mount):
        return template
    return str(scope.get("root_path", ""))[len(entry_root_path) :] + template


class RequestMetricsMiddleware:
    """Counts each HTTP request by route template and status, and observes its latency.

    `after_request` runs once a request is done (the API syncs cache gauges there).
    """

    def __init__(self, app: ASGIApp, after_request: Callable[[], None] | None = None) -> None:
        self.app = app
        self.after_request = after_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        entry_root_path = str(scope.get("root_path", ""))
        status = 500  # an exception before any response is what the server will answer

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            endpoint = endpoint_label(scope, entry_root_path)
            REQUEST_DURATION.labels(endpoint).observe(perf_counter() - started)
            REQUESTS.labels(endpoint, str(status)).inc()
            if self.after_request is not None:
                self.after_request()
