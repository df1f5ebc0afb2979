"""The two families of tile/analysis errors: user errors (never retried) and transient errors (retried).

rq retries every exception of a job that has a `Retry`; tile jobs therefore catch `UserError` themselves
(the tile fails at once, with the message) and let everything else propagate to rq, which retries it.
"""

from __future__ import annotations

import botocore.exceptions
import httpx
import pystac_client.exceptions
import rasterio.errors
import redis.exceptions
import requests.exceptions

MAX_ERROR_CHARS = 2000


class UserError(Exception):
    """A problem with the request itself (evalscript, AOI, output paths): retrying cannot help."""


class InvalidRequestError(UserError):
    """The request cannot be processed as given."""


class OutputExistsError(UserError):
    """A target object exists and the request does not allow overwriting it."""


class TransientError(Exception):
    """A failure of storage, catalog or network that may succeed when tried again."""


class CancelledError(Exception):
    """The request stopped being PROCESSING while a tile ran (cancel, budget exhausted)."""


TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    rasterio.errors.RasterioIOError,
    pystac_client.exceptions.APIError,
    requests.exceptions.RequestException,
    httpx.TransportError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_user_error(exc: BaseException) -> bool:
    """Whether `exc` is the user's fault (evalscript errors included) and must not be retried."""
    if isinstance(exc, UserError):
        return True
    try:
        from evaluator import EvalscriptError
    except ImportError:  # pragma: no cover - evaluator always ships with the workers
        return False
    return isinstance(exc, EvalscriptError)


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is worth retrying: storage, catalog and network failures (not user errors, not bugs)."""
    return not is_user_error(exc) and isinstance(exc, TRANSIENT_TYPES)


def describe(exc: BaseException) -> str:
    """A one-line message for a tile's `error` field (evalscript errors keep their line number)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:MAX_ERROR_CHARS]
