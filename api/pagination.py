"""List pages: `count` clamping, opaque `viewtoken` cursors and the `{data, links}` envelope (§2.1).

A cursor encodes the sort key of the last item of a page, so pages never shift when items are created or
deleted while a client iterates.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.datastructures import URL

from api.errors import BadPayload

DEFAULT_COUNT = 100
MAX_COUNT = 100


def clamp_count(count: int | None) -> int:
    """The page size: default 100, at most 100, at least 1."""
    if count is None:
        return DEFAULT_COUNT
    return max(1, min(MAX_COUNT, count))


def encode_cursor(key: list[Any]) -> str:
    """An opaque, URL-safe token for a sort key."""
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> list[Any] | None:
    """The sort key of a token (None for no token); raises BadPayload for a token we did not issue."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadPayload.field("viewtoken", "not a valid page token") from exc
    if not isinstance(key, list):
        raise BadPayload.field("viewtoken", "not a valid page token")
    return key


def page_envelope(
    data: list[dict[str, Any]], url: URL, current_token: str | None, next_key: list[Any] | None
) -> dict[str, Any]:
    """`{"data", "links"}`; `links.nextToken`/`next` only when another page exists."""
    links: dict[str, str] = {}
    if current_token:
        links["currentToken"] = current_token
    if next_key is not None and data:
        token = encode_cursor(next_key)
        links["nextToken"] = token
        links["next"] = str(url.include_query_params(viewtoken=token))
    return {"data": data, "links": links}


def paginate(
    items: list[Any], sort_key: Any, after: list[Any] | None, count: int, descending: bool = False
) -> tuple[list[Any], list[Any] | None]:
    """One page of `items` (sorted by `sort_key`, a function returning a list) after cursor `after`.

    Returns the page and the cursor key of the next page (None on the last page).
    """
    ordered = sorted(items, key=sort_key, reverse=descending)
    if after is not None:
        if descending:
            ordered = [item for item in ordered if sort_key(item) < after]
        else:
            ordered = [item for item in ordered if sort_key(item) > after]
    page = ordered[:count]
    next_key = sort_key(page[-1]) if len(ordered) > count else None
    return page, next_key
