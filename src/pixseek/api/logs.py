"""Log records that carry the request id, as text or one JSON object a line (`PIXSEEK_LOG_JSON=1`)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Set per request by RequestIdMiddleware; tasks and worker threads started for the request copy it.
_request_id: ContextVar[str | None] = ContextVar("pixseek_request_id", default=None)

# What a client may choose as its request id: short, printable, no spaces (safe in logs and headers).
_SANE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str | None) -> Any:
    """Make `value` the current request id; returns the token `unbind_request_id` takes."""
    return _request_id.set(value)


def unbind_request_id(token: Any) -> None:
    _request_id.reset(token)


def choose_request_id(sent: str | None) -> str:
    """The client's id when it is sane, else a fresh one."""
    if sent and _SANE_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (on handlers, so records from any logger get it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; uvicorn's access records also get method, path and status fields."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or _request_id.get()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if rid in (None, "-") else rid,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            entry.update(client=client, method=method, path=path, status=status)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(json_lines: bool, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict for pixseek and uvicorn (pass it as uvicorn's log_config).

    uvicorn applies it in every worker process, so all workers log in the same format.
    """
    formatter: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"} if json_lines else {"format": TEXT_FORMAT}
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "pixseek",
        "filters": ["request_id"],
    }
    logger = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"pixseek": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "pixseek": logger,
            "uvicorn": logger,
            "uvicorn.error": {"level": level.upper()},  # propagates to "uvicorn"
            "uvicorn.access": logger,
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
