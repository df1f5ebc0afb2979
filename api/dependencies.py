"""FastAPI dependencies: settings, store, service, the authenticated principal, query filters, the body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import redis
from fastapi import Depends, Query, Request

from api.auth import Principal, bearer_token, verify_token
from api.errors import BadPayload
from api.pagination import clamp_count, decode_cursor
from api.ratelimit import check_rate
from api.service import BatchService
from api.store_reads import AsyncStoreReads
from evalbatch.settings import Settings
from evalbatch.store import Store

MAX_JSON_DEPTH = 64


async def get_settings(request: Request) -> Settings:
    """The app's settings (trivial dependencies are async: no thread-pool hop per request)."""
    return request.app.state.settings


async def get_redis(request: Request) -> redis.Redis:
    """The app's Redis client (opened by the lifespan)."""
    return request.app.state.redis


async def get_store(request: Request) -> Store:
    """The app's request store."""
    return request.app.state.store


async def get_reads(request: Request) -> AsyncStoreReads:
    """The app's non-blocking reads of the hot endpoints (opened by the lifespan)."""
    return request.app.state.reads


async def get_service(
    store: Annotated[Store, Depends(get_store)], settings: Annotated[Settings, Depends(get_settings)]
) -> BatchService:
    """The batch service over the app's store."""
    return BatchService(store, settings)


async def current_principal(request: Request) -> Principal:
    """The caller of a batch endpoint: a valid bearer token is required, and the account's rate limit.

    Async, with no hop to the thread pool: verifying a token is CPU work of microseconds (and cached), and the
    rate-limit counter (when a limit is configured) is counted on the app's asyncio Redis client. It reads the
    app's state itself: every sub-dependency costs each call of every endpoint."""
    settings: Settings = request.app.state.settings
    principal = verify_token(bearer_token(request), settings)
    if settings.rate_limit_per_minute > 0:
        await check_rate(request.app.state.async_redis, principal.account_id, settings.rate_limit_per_minute)
    return principal


@dataclass
class Page:
    """`count` and `viewtoken` of a list call."""

    count: int
    after: list[Any] | None
    token: str | None


async def page_query(
    count: Annotated[int | None, Query(description="Page size (default and maximum 100)")] = None,
    viewtoken: Annotated[str | None, Query(description="Cursor from links.nextToken")] = None,
) -> Page:
    """The paging parameters of a list endpoint."""
    return Page(count=clamp_count(count), after=decode_cursor(viewtoken), token=viewtoken)


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, `[]` and `{}` are 1), computed without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(raw: bytes | str, field: str = "body") -> Any:
    """Parsed JSON; raises BadPayload naming the position of a syntax error, or nesting beyond the limit
    (deeper documents would exhaust the recursion of the handlers that walk the body)."""
    too_deep = f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels"
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise BadPayload.field(field, too_deep) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadPayload.field(field, f"malformed JSON ({exc})") from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise BadPayload.field(field, too_deep)
    return value


async def create_body(request: Request) -> Any:
    """A create body: JSON, or multipart/form-data with parts `request` (JSON) and `evalscript` (text)."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return parse_json(raw)
    limit = request.app.state.settings.max_body_bytes  # parts may be as large as the whole body
    async with request.form(max_part_size=limit) as form:
        request_part = form.get("request")
        evalscript_part = form.get("evalscript")
        if request_part is None:
            raise BadPayload.field("request", "the multipart body needs a 'request' part")
        text = request_part if isinstance(request_part, str) else (await request_part.read()).decode()
        body = parse_json(text, "request")
        if evalscript_part is not None and isinstance(body, dict):
            script = evalscript_part if isinstance(evalscript_part, str) else (await evalscript_part.read()).decode()
            process = body.get("processRequest")
            body["processRequest"] = {**(process if isinstance(process, dict) else {}), "evalscript": script}
        return body


async def json_body(request: Request) -> Any:
    """A JSON body (an empty body counts as `{}`)."""
    raw = await request.body()
    return parse_json(raw) if raw.strip() else {}
