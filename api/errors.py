"""API errors: one table from exception type to (HTTP status, Sentinel Hub error code), one error body.

Every 4xx/5xx body is `{"error": {"status", "reason", "message", "code", "errors"?}}` (batch-api.md §2.2).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Base of every error the API answers on purpose; subclasses pick the row of `ERROR_TABLE`."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class BadPayload(ApiError):
    """The request body or query is invalid, or the action makes no sense in the current state."""

    @classmethod
    def field(cls, field: str, problem: str) -> BadPayload:
        """A validation error of one field, named in the message and in `errors`."""
        return cls(f"{field}: {problem}", {field: problem})


class Unauthorized(ApiError):
    """Missing, invalid or expired access token."""


class Forbidden(ApiError):
    """Authenticated but not allowed."""


class NotFound(ApiError):
    """Unknown id, or an id owned by another account or API version."""


class Conflict(ApiError):
    """The request's state forbids the operation (PUT/DELETE)."""


class PayloadTooLarge(ApiError):
    """The request body exceeds the configured limit."""


class RateLimited(ApiError):
    """The account made too many calls; `retry_after_ms` says when to come back."""

    def __init__(self, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


ERROR_TABLE: dict[type[ApiError], tuple[int, str]] = {
    BadPayload: (400, "COMMON_BAD_PAYLOAD"),
    Unauthorized: (401, "COMMON_UNAUTHORIZED"),
    Forbidden: (403, "COMMON_INSUFFICIENT_PERMISSIONS"),
    NotFound: (404, "COMMON_NOT_FOUND"),
    Conflict: (409, "COMMON_CONFLICT"),
    PayloadTooLarge: (413, "COMMON_BAD_PAYLOAD"),
    RateLimited: (429, "RATE_LIMIT_EXCEEDED"),
}
INTERNAL_ERROR = (500, "COMMON_EXCEPTION")
HTTP_STATUS_CODES = {404: "COMMON_NOT_FOUND", 401: "COMMON_UNAUTHORIZED", 405: "COMMON_BAD_PAYLOAD"}


def error_body(status: int, code: str, message: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The error body of batch-api.md §2.2."""
    body: dict[str, Any] = {
        "status": status,
        "reason": HTTPStatus(status).phrase,
        "message": message,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    return {"error": body}


def error_response(
    status: int, code: str, message: str, errors: dict[str, str] | None = None, headers: dict | None = None
) -> JSONResponse:
    """A JSONResponse carrying the error body."""
    return JSONResponse(error_body(status, code, message, errors), status_code=status, headers=headers)


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """A dotted field name from a pydantic error location (without the leading `body`/`query`/`path`)."""
    name = ""
    for part in loc:
        if part in ("body", "query", "path", "header"):
            continue
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def validation_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """{field: message} from pydantic/FastAPI validation errors (the first message per field)."""
    result: dict[str, str] = {}
    for err in errors:
        result.setdefault(field_name(err.get("loc", ())), err.get("msg", "invalid"))
    return result


def summary(errors: dict[str, str]) -> str:
    """One-line message naming every invalid field."""
    return "; ".join(f"{name}: {msg}" for name, msg in errors.items())


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    status, code = next(v for k, v in ERROR_TABLE.items() if isinstance(exc, k))
    headers = {"Retry-After": str(exc.retry_after_ms)} if isinstance(exc, RateLimited) else None
    return error_response(status, code, exc.message, exc.errors, headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    return error_response(400, "COMMON_BAD_PAYLOAD", summary(errors), errors)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    fallback = "COMMON_EXCEPTION" if exc.status_code >= 500 else "COMMON_BAD_PAYLOAD"
    code = HTTP_STATUS_CODES.get(exc.status_code, fallback)
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    status, code = INTERNAL_ERROR
    return error_response(status, code, "Internal server error")


def add_exception_handlers(app: FastAPI) -> None:
    """Install the handlers that turn every error into the error body."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
