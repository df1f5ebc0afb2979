"""Per-account rate limit: a fixed one-minute window counted in Redis."""

from __future__ import annotations

import time

import redis.asyncio

from api.errors import RateLimited
from evalbatch import keys

WINDOW_S = 60


async def check_rate(
    client: redis.asyncio.Redis, account_id: str, limit_per_minute: int, now: float | None = None
) -> None:
    """Count one call; raises RateLimited (with Retry-After in ms) beyond `limit_per_minute` (0 disables)."""
    if limit_per_minute <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    key = keys.rate_window(account_id, window)
    async with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_S * 2)
        calls, _ = await pipe.execute()
    if int(calls) > limit_per_minute:
        retry_after_ms = max(1, int(((window + 1) * WINDOW_S - now) * 1000))
        raise RateLimited("You have exceeded your rate limit", retry_after_ms)
