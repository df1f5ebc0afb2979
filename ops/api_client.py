"""A small Batch API v1 client over httpx, shared by the operator commands (`evalbatch requests ...`, the demo).

It speaks the wire protocol directly (token endpoint, `/api/v1/batch/...`, paging by `links.nextToken`) and
turns error answers into `ApiError` carrying the server's message (batch-api.md §2.2).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import httpx
from tqdm import tqdm

from evalbatch.states import FINAL_STATES, TileStatus

V1_PREFIX = "/api/v1/batch"
TOKEN_PATH = "/oauth/token"
PAGE_SIZE = 100
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_POLL_INTERVAL_S = 1.0
FINAL_STATUSES = frozenset(status.value for status in FINAL_STATES)


class ApiError(RuntimeError):
    """An error answer of the API: HTTP status, error code and the server's message."""

    def __init__(self, method: str, path: str, status: int, message: str, code: str | None = None) -> None:
        super().__init__(f"{method} {path} -> {status}: {message}")
        self.status = status
        self.code = code
        self.message = message


def error_message(response: httpx.Response) -> tuple[str, str | None]:
    """(message, code) of an error response: the API's `error` object, an OAuth error, or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error), error.get("code")
    if isinstance(error, str):  # OAuth: {"error": "invalid_client", "error_description": "..."}
        return str(body.get("error_description") or error), error
    return response.text, None


def finished_tiles(request: dict[str, Any]) -> int:
    """Tiles of a v1 request object that are final (PROCESSED or FAILED), from `tileStatusCounts`."""
    counts = request.get("tileStatusCounts") or {}
    return int(counts.get(TileStatus.PROCESSED, 0)) + int(counts.get(TileStatus.FAILED, 0))


class ApiClient:
    """A Batch API v1 client authenticated with OAuth client credentials."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout_s, transport=transport)
        token = self.http.post(
            TOKEN_PATH,
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
        )
        if token.is_error:
            message, code = error_message(token)
            raise ApiError("POST", TOKEN_PATH, token.status_code, message, code)
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call below `/api/v1/batch`; the JSON answer (None when empty), ApiError on a 4xx/5xx."""
        response = self.http.request(method, f"{V1_PREFIX}{path}", **kwargs)
        if response.is_error:
            message, code = error_message(response)
            raise ApiError(method, path, response.status_code, message, code)
        return response.json() if response.content else None

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list endpoint, following `links.nextToken`."""
        query: dict[str, Any] = {"count": PAGE_SIZE, **(params or {})}
        while True:
            page = self.call("GET", path, params=query)
            yield from page["data"]
            token = (page.get("links") or {}).get("nextToken")
            if not token or not page["data"]:
                return
            query["viewtoken"] = token

    def requests(self, sort: str = "created") -> list[dict[str, Any]]:
        """All v1 requests of the account."""
        return list(self.pages("/process", {"sort": sort}))

    def request(self, request_id: str) -> dict[str, Any]:
        """One request object."""
        return self.call("GET", f"/process/{request_id}")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a request from a v1 create body; the new request object."""
        return self.call("POST", "/process", json=body)

    def act(self, request_id: str, action: str) -> None:
        """POST an action: `analyse`, `start`, `cancel` or `restartpartial`."""
        self.call("POST", f"/process/{request_id}/{action}")

    def tiles(self, request_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """All tiles of a request (of one status when given)."""
        return list(self.pages(f"/process/{request_id}/tiles", {"status": status} if status else None))

    def poll(
        self, request_id: str, until: frozenset[str] | set[str] = FINAL_STATUSES,
        interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> Iterator[dict[str, Any]]:
        """The request object every `interval_s` seconds; the last one yielded has a status in `until`."""
        while True:
            request = self.request(request_id)
            yield request
            if request["status"] in until:
                return
            time.sleep(interval_s)

    def wait(
        self, request_id: str, until: frozenset[str] | set[str], progress: tqdm | None = None,
        interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> dict[str, Any]:
        """Poll until the status is in `until`, advancing `progress` to the finished tiles; the last object."""
        request: dict[str, Any] = {}
        for request in self.poll(request_id, until, interval_s):
            if progress is not None:
                show_progress(progress, request)
        return request


def show_progress(progress: tqdm, request: dict[str, Any]) -> None:
    """Set a tqdm bar to a request's finished tiles out of `tileCount`, with the status as postfix."""
    progress.total = int(request.get("tileCount") or 0) or progress.total
    progress.n = finished_tiles(request)
    progress.set_postfix_str(request["status"], refresh=False)
    progress.refresh()
