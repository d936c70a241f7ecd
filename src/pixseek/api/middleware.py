"""Pure ASGI middlewares that act before any route reads the body: API key, upload size, ingest slots,
and HEAD requests.

Pure ASGI (not BaseHTTPMiddleware) so the body keeps streaming: the size limit counts bytes as
they arrive and stops the request at the first chunk past the limit, without buffering it.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixseek.api.errors import ApiError, error_response
from pixseek.api.file_response import HEAD_REQUEST
from pixseek.api.state import IngestSlots

API_KEY_HEADER = "X-API-Key"
# Reachable without a key: liveness/readiness probes, metrics scraping, the UI shell and the docs.
DOCS_ASSETS = "/docs-assets"  # Swagger UI's and ReDoc's scripts, served from the installed package
PUBLIC_PATHS = frozenset({"/", "/health", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect",
                          "/redoc", "/ui", DOCS_ASSETS})  # fmt: skip
PUBLIC_PREFIXES = ("/ui/", f"{DOCS_ASSETS}/")
INGEST_PREFIX = "/ingest/"
IMAGE_SEARCH_PATH = "/search/similar"
RETRY_AFTER_BUSY_S = 2


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class ApiKeyMiddleware:
    """Every non-public path needs the `X-API-Key` header equal to `api_key` (constant-time compare)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]) or self._accepts(scope):
            await self.app(scope, receive, send)
            return
        response = error_response(401, "unauthorized", f"missing or wrong {API_KEY_HEADER} header")
        await response(scope, receive, send)

    def _accepts(self, scope: Scope) -> bool:
        given = Headers(scope=scope).get(API_KEY_HEADER)
        # Bytes, not str: compare_digest rejects non-ASCII str, and headers are latin-1.
        return given is not None and hmac.compare_digest(given.encode("latin-1"), self._key)


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "payload_too_large", f"request body exceeds the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Reject bodies over `limit` bytes: at once on Content-Length, else while they stream in.

    The error is raised from `receive`, inside the route's body parsing, where FastAPI hands
    HTTP exceptions to the error handlers; if it escapes before a response began, answer here.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await self._reject(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(self.limit)
        # The rest of the body is never read: tell the client the connection will not be reused.
        headers = {"Connection": "close"}
        response = error_response(413, error.code, str(error.detail), headers=headers)
        await response(scope, receive, send)


class IngestSlotMiddleware:
    """Hold a slot from the first byte of an upload to its answer; none free: 503 + Retry-After.

    The slot is taken before the body is read (a route's dependencies run only after FastAPI has
    parsed the whole form), so uploads beyond capacity are never buffered: their bodies are read and
    dropped chunk by chunk, which keeps the connection usable for the 503, and nothing is kept.
    One instance guards the ingest routes, another the image search (each upload is decoded in
    memory: the slots bound how many at once).
    """

    def __init__(
        self, app: ASGIApp, slots: IngestSlots, prefix: str = INGEST_PREFIX, work: str = "ingests"
    ) -> None:
        self.app = app
        self.slots = slots
        self.prefix, self.work = prefix, work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_upload = scope["type"] == "http" and scope["method"] == "POST"
        if not (is_upload and scope["path"].startswith(self.prefix)):
            await self.app(scope, receive, send)
            return
        if not self.slots.try_acquire():
            await self._refuse(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:  # past the body limit, BodyLimitMiddleware (outside this one) answers 413 instead
            message = await receive()
            more = message["type"] == "http.request" and bool(message.get("more_body", False))
        headers = {"Retry-After": str(RETRY_AFTER_BUSY_S)}
        detail = f"too many {self.work} in progress; retry shortly"
        response = error_response(503, "busy", detail, headers=headers)
        await response(scope, receive, send)


class HeadAsGetMiddleware:
    """HEAD is GET without the body (RFC 9110): uptime checks and `curl -I` get the GET route's status
    and headers (Content-Length, Content-Type, Cache-Control) instead of 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_REQUEST: True}, receive, headers_only)
