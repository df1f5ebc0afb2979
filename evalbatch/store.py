"""The request and tile store on Redis, shared by the API and the workers.

Layout (key formats in `evalbatch.keys`):

- a request is a HASH whose fields hold JSON values (camelCase, as the API shows them), so single fields can
  be updated without read-modify-write; status changes go through `transition()`, which is atomic;
- a tile is split in three: its static description (written once by the analysis), its status (a HASH
  field plus one ZSET per status for counting and filtered paging) and its run record (attempts, error, ...);
  a Lua script moves a tile between statuses atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from evalbatch import keys
from evalbatch.states import (
    Action,
    Outcome,
    RequestStatus,
    Rule,
    TileStatus,
    UserAction,
    decide,
)

PIPELINE_BATCH = 1000
OWNER_FIELDS = ("accountId", "apiVersion")  # the request fields that decide who may see it

_SET_TILE_STATUS = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return false end
if ARGV[3] ~= '' then
  local allowed = false
  for s in string.gmatch(ARGV[3], '[^,]+') do
    if s == current then allowed = true end
  end
  if not allowed then return false end
end
if current ~= ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZREM', KEYS[2] .. current, ARGV[1])
  redis.call('ZADD', KEYS[2] .. ARGV[2], tonumber(ARGV[1]), ARGV[1])
end
return current
"""


def utc_now() -> str:
    """The current time as the API writes timestamps: ISO 8601 UTC with milliseconds and `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    """Requests and tiles in Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._set_tile_status = client.register_script(_SET_TILE_STATUS)

    # --- requests ---------------------------------------------------------------------------------

    def create_request(self, record: dict[str, Any], secrets: dict[str, Any] | None = None) -> None:
        """Store a new request record (must contain `id`, `accountId`, `apiVersion`, `created`)."""
        request_id = record["id"]
        created_ms = int(_parse_time(record["created"]).timestamp() * 1000)
        # ties within one millisecond keep creation order through a global sequence number
        score = created_ms * 1000 + self.redis.incr(keys.request_sequence()) % 1000
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.request(request_id), mapping=_encode(record))
            if secrets:
                pipe.set(keys.request_secrets(request_id), json.dumps(secrets))
            pipe.zadd(
                keys.account_requests(record["accountId"], record["apiVersion"]), {request_id: score}
            )
            pipe.execute()

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        """The request record, or None when it does not exist."""
        raw = self.redis.hgetall(keys.request(request_id))
        return decode_record(raw) if raw else None

    def request_owner(self, request_id: str) -> tuple[str, int] | None:
        """(account id, API version) of a request, without reading the rest of its record (its evalscript can
        be a megabyte); None when it does not exist."""
        return decode_owner(self.redis.hmget(keys.request(request_id), OWNER_FIELDS))

    def update_request(self, request_id: str, **fields: Any) -> None:
        """Set some fields of a request (and `lastUpdated`)."""
        fields.setdefault("lastUpdated", utc_now())
        self.redis.hset(keys.request(request_id), mapping=_encode(fields))

    def transition(
        self,
        request_id: str,
        to: RequestStatus,
        expected: Iterable[RequestStatus] | None = None,
        **fields: Any,
    ) -> bool:
        """Atomically move a request to `to` if its status is one of `expected`; returns whether it moved."""
        allowed = {RequestStatus(s).value for s in expected} if expected is not None else None
        key = keys.request(request_id)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "status")
                    if raw is None:
                        return False
                    if allowed is not None and json.loads(raw) not in allowed:
                        return False
                    pipe.multi()
                    update = {"status": RequestStatus(to).value, "lastUpdated": utc_now(), **fields}
                    pipe.hset(key, mapping=_encode(update))
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def apply_action(
        self, request_id: str, action: Action, api_version: int
    ) -> tuple[Rule, RequestStatus | None]:
        """Decide `action` on the request's current status and apply it atomically.

        Returns the rule and the status the request had; the caller enqueues side effects when the outcome
        is APPLY. A missing request returns (REJECT rule, None).
        """
        key = keys.request(request_id)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "status")
                    if raw is None:
                        return Rule(Outcome.REJECT), None
                    current = RequestStatus(json.loads(raw))
                    rule = decide(current, action, api_version)
                    if rule.outcome is not Outcome.APPLY or (rule.to is None and rule.user_action is None):
                        pipe.unwatch()
                        return rule, current
                    now = utc_now()
                    update: dict[str, Any] = {"lastUpdated": now}
                    if rule.to is not None:
                        update["status"] = rule.to.value
                    if rule.user_action is not None:
                        update["userAction"] = rule.user_action.value
                        update["userActionUpdated"] = now
                    pipe.multi()
                    pipe.hset(key, mapping=_encode(update))
                    pipe.execute()
                    return rule, current
                except redis.WatchError:
                    continue

    def list_request_ids(self, account_id: str, api_version: int) -> list[str]:
        """An account's request ids of one API version, oldest first."""
        return [
            rid.decode() for rid in self.redis.zrange(keys.account_requests(account_id, api_version), 0, -1)
        ]

    def get_requests(self, request_ids: list[str]) -> list[dict[str, Any]]:
        """Several request records at once (missing ones are skipped)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for rid in request_ids:
                pipe.hgetall(keys.request(rid))
            return [decode_record(raw) for raw in pipe.execute() if raw]

    def delete_request(self, request_id: str) -> None:
        """Remove a request and everything that belongs to it."""
        record = self.get_request(request_id)
        if record is None:
            return
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.account_requests(record["accountId"], record["apiVersion"]), request_id)
            pipe.delete(*keys.request_keys(request_id))
            pipe.execute()

    def get_secrets(self, request_id: str) -> dict[str, Any]:
        """Delivery credentials given with the request (empty when none)."""
        raw = self.redis.get(keys.request_secrets(request_id))
        return json.loads(raw) if raw else {}

    # --- tiles ------------------------------------------------------------------------------------

    def put_tiles(self, request_id: str, tiles: Iterable[dict[str, Any]]) -> int:
        """Replace a request's tiles by `tiles` (static descriptions with an int `id`), all PENDING."""
        self.clear_tiles(request_id)
        count = 0
        pipe = self.redis.pipeline(transaction=False)
        pending_index = keys.tile_index(request_id, TileStatus.PENDING.value)
        for tile in tiles:
            tid = int(tile["id"])
            pipe.hset(keys.tiles(request_id), tid, json.dumps(tile))
            pipe.hset(keys.tile_status(request_id), tid, TileStatus.PENDING.value)
            pipe.zadd(keys.tile_index(request_id), {tid: tid})
            pipe.zadd(pending_index, {tid: tid})
            count += 1
            if count % PIPELINE_BATCH == 0:
                pipe.execute()
        pipe.execute()
        return count

    def clear_tiles(self, request_id: str) -> None:
        """Remove all tiles of a request."""
        self.redis.delete(
            keys.tiles(request_id),
            keys.tile_status(request_id),
            keys.tile_info(request_id),
            keys.tile_index(request_id),
            *(keys.tile_index(request_id, s.value) for s in TileStatus),
        )

    def tile_ids(
        self, request_id: str, status: TileStatus | None = None, after: int | None = None, count: int = 100
    ) -> list[int]:
        """Tile ids in ascending order, optionally of one status, starting after tile id `after`."""
        index = keys.tile_index(request_id, TileStatus(status).value if status else "ALL")
        low = f"({after}" if after is not None else "-inf"
        return [int(t) for t in self.redis.zrangebyscore(index, low, "+inf", start=0, num=count)]

    def iter_tile_ids(self, request_id: str, status: TileStatus | None = None) -> Iterator[int]:
        """All tile ids (of one status), in ascending order, page by page."""
        after: int | None = None
        while True:
            page = self.tile_ids(request_id, status, after, count=PIPELINE_BATCH)
            yield from page
            if len(page) < PIPELINE_BATCH:
                return
            after = page[-1]

    def get_tiles(self, request_id: str, tile_ids: list[int]) -> list[dict[str, Any]]:
        """Tiles as dicts: static description + `status` + run record (missing ids skipped)."""
        if not tile_ids:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.tiles(request_id), tile_ids)
            pipe.hmget(keys.tile_status(request_id), tile_ids)
            pipe.hmget(keys.tile_info(request_id), tile_ids)
            static, statuses, infos = pipe.execute()
        return merge_tiles(static, statuses, infos)

    def get_tile(self, request_id: str, tile_id: int) -> dict[str, Any] | None:
        """One tile, or None."""
        tiles = self.get_tiles(request_id, [tile_id])
        return tiles[0] if tiles else None

    def set_tile_status(
        self,
        request_id: str,
        tile_id: int,
        status: TileStatus,
        allowed_from: Iterable[TileStatus] | None = None,
    ) -> TileStatus | None:
        """Move a tile to `status` if its current status is in `allowed_from`; returns the previous status
        when it moved (or was already there), None when the tile is missing or not allowed to move."""
        allowed = ",".join(TileStatus(s).value for s in allowed_from) if allowed_from is not None else ""
        previous = self._set_tile_status(
            keys=[keys.tile_status(request_id), keys.tile_index(request_id, "")],
            args=[tile_id, TileStatus(status).value, allowed],
        )
        return TileStatus(previous.decode()) if previous else None

    def update_tile_info(self, request_id: str, tile_id: int, **fields: Any) -> dict[str, Any]:
        """Merge fields into a tile's run record; returns the new record."""
        key = keys.tile_info(request_id)
        raw = self.redis.hget(key, tile_id)
        info = json.loads(raw) if raw else {}
        info.update(fields)
        self.redis.hset(key, tile_id, json.dumps(info))
        return info

    def tile_counts(self, request_id: str) -> dict[str, int]:
        """Number of tiles per status (every status present, zeros included)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for status in TileStatus:
                pipe.zcard(keys.tile_index(request_id, status.value))
            return counts_by_status(pipe.execute())

    def record_progress(self, request_id: str, counts: dict[str, int] | None = None) -> None:
        """Append a progress point (time, processed, failed) for plots of progress over time (`counts`: the
        tile counts just read, if any)."""
        counts = counts if counts is not None else self.tile_counts(request_id)
        point = [time.time(), counts[TileStatus.PROCESSED], counts[TileStatus.FAILED]]
        self.redis.rpush(keys.progress(request_id), json.dumps(point))

    def progress(self, request_id: str) -> list[list[float]]:
        """The recorded progress points."""
        return [json.loads(p) for p in self.redis.lrange(keys.progress(request_id), 0, -1)]


def completion_percentage(counts: dict[str, int], tile_count: int) -> float:
    """Share of final tiles, 0..100 (always a number)."""
    if tile_count <= 0:
        return 0.0
    final = counts.get(TileStatus.PROCESSED, 0) + counts.get(TileStatus.FAILED, 0)
    return round(100.0 * min(final, tile_count) / tile_count, 2)


def _encode(fields: dict[str, Any]) -> dict[str, str]:
    return {
        k: json.dumps(v.value if isinstance(v, (RequestStatus, UserAction)) else v) for k, v in fields.items()
    }


def _load_tile_json(raw: bytes) -> Any:
    """A tile record written by our own code: orjson (listing tiles is the API's hottest path, and decoding
    was most of its time), the standard library for what orjson refuses (NaN and infinities)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def decode_record(raw: dict[bytes, bytes]) -> dict[str, Any]:
    """A request record from its HASH fields (JSON values)."""
    return {k.decode(): json.loads(v) for k, v in raw.items()}


def decode_owner(fields: list[bytes | None]) -> tuple[str, int] | None:
    """(account id, API version) from the raw values of `OWNER_FIELDS`; None when the request does not exist."""
    account, version = fields
    if account is None or version is None:
        return None
    return json.loads(account), json.loads(version)


def counts_by_status(counts: list[int]) -> dict[str, int]:
    """{status: count} from the ZCARDs of the status indexes, in `TileStatus` order."""
    return {status.value: int(n) for status, n in zip(TileStatus, counts, strict=True)}


def merge_tile(static: bytes, status: bytes | None, info: bytes | None) -> dict[str, Any]:
    """A tile as a dict from its stored values: static description + `status` + run record."""
    tile = _load_tile_json(static)
    tile["status"] = status.decode() if status else TileStatus.PENDING.value
    if info:
        tile.update(_load_tile_json(info))
    return tile


def merge_tiles(
    static: list[bytes | None], statuses: list[bytes | None], infos: list[bytes | None]
) -> list[dict[str, Any]]:
    """Tiles as dicts from the raw HMGET answers of one list of ids (ids without a static description are
    skipped)."""
    rows = zip(static, statuses, infos, strict=True)
    return [merge_tile(raw, status, info) for raw, status, info in rows if raw is not None]


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
