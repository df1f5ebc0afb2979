"""The store reads of the API's hot endpoints, each one Redis round trip on the event loop (no thread pool).

Polling a request and paging through its tiles are most of the API's traffic. A request with its tile counts
and a page of tiles with its owner are each read by one Lua script, on an asyncio Redis client, and decoded by
the same functions as `evalbatch.store.Store` (so both read the layout of `evalbatch.keys` identically).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio

from evalbatch import keys
from evalbatch.states import TileStatus
from evalbatch.store import OWNER_FIELDS, counts_by_status, decode_owner, decode_record

# KEYS: the request HASH, then the ZSET of each tile status. Returns {HGETALL of the request, {ZCARD...}}.
REQUEST_WITH_COUNTS = """
local counts = {}
for i = 2, #KEYS do counts[i - 1] = redis.call('ZCARD', KEYS[i]) end
return {redis.call('HGETALL', KEYS[1]), counts}
"""

# KEYS: the request HASH, a tile index ZSET (all tiles or one status), the HASHes of static descriptions,
# statuses and run records. ARGV: lowest and highest score, how many ids to list, how many of them to read,
# then the owner fields. Returns {owner values, ids, static, statuses, run records}; only the owner values
# when the request does not exist, and no tile reads when no id is listed.
TILE_PAGE = """
local owner = redis.call('HMGET', KEYS[1], ARGV[5], ARGV[6])
if not owner[1] then return {owner} end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local read = {}
for i = 1, math.min(#ids, tonumber(ARGV[4])) do read[i] = ids[i] end
if #read == 0 then return {owner, ids} end
return {owner, ids, redis.call('HMGET', KEYS[3], unpack(read)), redis.call('HMGET', KEYS[4], unpack(read)),
        redis.call('HMGET', KEYS[5], unpack(read))}
"""


@dataclass(frozen=True)
class TilePage:
    """What a tile listing reads: the request's owner (None: no such request), the tile ids listed (up to one
    more than the page, which says whether another page follows) and, for the ids of the page, the stored
    static descriptions, statuses and run records (None where missing; `evalbatch.store.merge_tile` makes
    tiles of them)."""

    owner: tuple[str, int] | None
    ids: list[int]
    static: list[bytes | None] = field(default_factory=list)
    statuses: list[bytes | None] = field(default_factory=list)
    infos: list[bytes | None] = field(default_factory=list)


class AsyncStoreReads:
    """Reads of requests and tiles on an asyncio Redis client, one round trip each."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.redis = client
        self._request_with_counts = client.register_script(REQUEST_WITH_COUNTS)
        self._tile_page = client.register_script(TILE_PAGE)

    async def request_with_counts(self, request_id: str) -> tuple[dict[str, Any] | None, dict[str, int]]:
        """The request record (None when it does not exist) and its number of tiles per status."""
        indexes = [keys.tile_index(request_id, status.value) for status in TileStatus]
        fields, counts = await self._request_with_counts(keys=[keys.request(request_id), *indexes])
        record = decode_record(dict(zip(fields[::2], fields[1::2], strict=True))) if fields else None
        return record, counts_by_status(counts)

    async def owner(self, request_id: str) -> tuple[str, int] | None:
        """(account id, API version) of a request; None when it does not exist."""
        return decode_owner(await self.redis.hmget(keys.request(request_id), OWNER_FIELDS))

    async def tile_page(self, request_id: str, status: TileStatus | None, after: int | None, count: int) -> TilePage:
        """Up to `count` tiles in ascending ids after tile id `after` (optionally of one status), and the id
        after them if there is one."""
        index = keys.tile_index(request_id, TileStatus(status).value if status else "ALL")
        low = f"({after}" if after is not None else "-inf"
        return await self._read_tiles(request_id, index, low, "+inf", count)

    async def tile(self, request_id: str, tile_id: int) -> TilePage:
        """The one tile `tile_id` of a request (no tiles when the request has no such tile)."""
        return await self._read_tiles(request_id, keys.tile_index(request_id), tile_id, tile_id, 1)

    async def _read_tiles(self, request_id: str, index: str, low: str | int, high: str | int, count: int) -> TilePage:
        hashes = [keys.tiles(request_id), keys.tile_status(request_id), keys.tile_info(request_id)]
        reply = await self._tile_page(
            keys=[keys.request(request_id), index, *hashes], args=[low, high, count + 1, count, *OWNER_FIELDS]
        )
        ids = [int(tile_id) for tile_id in reply[1]] if len(reply) > 1 else []  # [owner] for a missing request
        return TilePage(decode_owner(reply[0]), ids, *reply[2:])
