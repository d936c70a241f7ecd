"""What the app holds while it runs: the engine, whether it is ready, and the ingest slots."""

from __future__ import annotations

import logging
import threading
from typing import Literal

from pixseek.api.observability_instrument import instrument_engine
from pixseek.config import Settings
from pixseek.engine import Engine
from pixseek.errors import BackendUnavailable

log = logging.getLogger(__name__)

Readiness = Literal["starting", "ready", "failed"]


class IngestSlots:
    """A non-blocking counting semaphore: ingest work beyond `limit` is refused, not queued.

    Thread-safe (a lock, not an asyncio primitive) so any thread or event loop may take a slot.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._used = max(0, self._used - 1)

    @property
    def in_use(self) -> int:
        return self._used


# Waiting for OpenSearch or Triton at start-up: retry after 1, 2, 4 ... up to 30 s between tries.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0


def _where(engine: Engine) -> str:
    """The store's location (credentials redacted) and size, for the start-up log."""
    try:
        info = engine.store.info()
    except Exception:  # a log line must not fail the start
        return "unknown"
    return f"{info.backend} at {info.location}, {info.images} images"


class ServiceState:
    """Opens (unless given) and warms the engine in a background thread; readiness is its outcome."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.status: Readiness = "starting"
        self.error: str | None = None
        self.ingest_slots = IngestSlots(settings.max_pending_ingests)
        self.image_search_slots = IngestSlots(settings.max_pending_ingests)  # uploads to /search/similar
        self._owns_engine = engine is None
        self._starter: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def start(self) -> None:
        self._starter = threading.Thread(target=self._open_and_warm, name="pixseek-warmup", daemon=True)
        self._starter.start()

    def _open_and_warm(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                # Times model and store calls for /metrics (pixseek.api.observability_instrument).
                engine = instrument_engine(self.engine or Engine.open(self.settings))
                break
            except BackendUnavailable as exc:  # OpenSearch or Triton not up yet: wait for it
                self.error = f"waiting for a backend: {exc}"
                log.warning("%s; retrying in %.0f s", self.error, delay)
            except Exception as exc:  # reported by /health; the process stays up to say why
                self._fail(exc)
                return
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RETRY_MAX_S)
        try:
            self.engine = engine
            engine.pack.warmup()
        except Exception as exc:
            self._fail(exc)
            return
        self.error = None
        self.status = "ready"
        log.info("pixseek engine ready (%s); store: %s", engine.pack.info.model_id, _where(engine))

    def _fail(self, exc: Exception) -> None:
        log.exception("pixseek engine failed to start")
        self.error = f"{type(exc).__name__}: {exc}"
        self.status = "failed"

    def stop(self) -> None:
        self._stopping.set()
        if self._starter is not None:
            self._starter.join()
        if self._owns_engine and self.engine is not None:
            self.engine.close()
            self.engine = None
