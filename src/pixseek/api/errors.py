"""One JSON error shape for every failure: `{"error": {"code", "message", "details"}}`.

Domain errors raised by the engine are translated here, so route functions never catch them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pixseek.api.engine_calls import StoredFileUnavailable
from pixseek.errors import BackendUnavailable
from pixseek.ingest.decode import ImageDecodeError
from pixseek.search.service import UnknownImageError

log = logging.getLogger(__name__)

# Codes for statuses raised by the framework itself (unknown route, wrong method, ...).
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "not_ready",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(StarletteHTTPException):
    """An HTTP error with a machine-readable code; rendered in the common shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code
        self.details = details


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error statuses a route may answer with."""
    return {status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase} for status in statuses}


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the engine's client-caused errors into HTTP errors (order matters: subclasses first)."""
    try:
        yield
    except StoredFileUnavailable as exc:
        raise ApiError(404, "file_unavailable", str(exc)) from exc
    except ImageDecodeError as exc:
        raise ApiError(400, "invalid_image", f"cannot decode the image: {exc.reason}") from exc
    except UnknownImageError as exc:
        raise ApiError(404, "not_found", f"no stored image has id {exc.args[0]}") from exc
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only the parts that are safe to echo: `input` may be an upload, `ctx` may hold exceptions.
    return [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", "")),
         "type": str(error.get("type", ""))}
        for error in exc.errors()
    ]  # fmt: skip


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, getattr(exc, "details", None), headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"])
    message = f"{where}: {first['msg']}" if where else first["msg"]
    if first.get("type") == "json_invalid":  # its location is a character position, not a field
        message = f"the body is not valid JSON (near character {first['loc'][-1]})"
    return error_response(422, "validation_error", str(message), details)


async def _on_backend_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "backend_unavailable", str(exc), headers={"Retry-After": "5"})


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(BackendUnavailable, _on_backend_unavailable)
    app.add_exception_handler(Exception, _on_unexpected_error)
