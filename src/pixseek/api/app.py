"""The app factory: routers, error handlers, middlewares and the UI over one Engine.

`create_app()` with no arguments reads Settings from PIXSEEK_* variables; uvicorn can call it as
an import-string factory (`pixseek.api.app:create_app`), which multi-worker serving needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from pixseek import __version__
from pixseek.api.deps import DOCUMENT_API_KEY
from pixseek.api.errors import install_error_handlers
from pixseek.api.middleware import (
    API_KEY_HEADER,
    DOCS_ASSETS,
    IMAGE_SEARCH_PATH,
    ApiKeyMiddleware,
    BodyLimitMiddleware,
    HeadAsGetMiddleware,
    IngestSlotMiddleware,
)
from pixseek.api.observability import install_observability
from pixseek.api.routes import images, ingest, search, system
from pixseek.api.state import ServiceState
from pixseek.api.thumbnails import ThumbnailCache
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.web import STATIC_DIR


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """An app serving `engine` (its caller closes it), else one it opens from `settings`.

    `settings` default to the engine's, else to PIXSEEK_* variables; API limits come from them.

    Models load and warm in a background thread after start-up; until then `/health` answers 503.
    """
    settings = settings or (engine.settings if engine is not None else Settings())
    state = ServiceState(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            await run_in_threadpool(state.stop)

    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="pixseek",
        version=__version__,
        summary="Visual search: find images and the objects in them by text, image and filters.",
        lifespan=lifespan,
    )
    app.state.pixseek = state
    app.state.thumbnails = ThumbnailCache(settings.db / "thumbnails", settings.max_image_pixels)
    install_error_handlers(app)
    app.include_router(system.router)
    for router in (ingest.router, search.router, images.router):
        app.include_router(router, dependencies=[DOCUMENT_API_KEY])
    app.mount("/ui", StaticFiles(directory=STATIC_DIR, html=True), name="ui")
    _add_middlewares(app, settings, state)
    # /metrics, request metrics and request ids; last, so its middlewares are the outermost.
    install_observability(app, lambda: state.engine)
    return app


def _add_middlewares(app: FastAPI, settings: Settings, state: ServiceState) -> None:
    # Added innermost first: requests pass CORS, the key check, the body limit, the ingest slots, then
    # HEAD becomes GET for the routes.
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(IngestSlotMiddleware, slots=state.ingest_slots)
    app.add_middleware(
        IngestSlotMiddleware, slots=state.image_search_slots, prefix=IMAGE_SEARCH_PATH, work="image searches"
    )
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_upload_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[API_KEY_HEADER, "Content-Type"],
        )
