"""The v1 tile objects of a tiles page as ready JSON, remembered per process by the stored values they come from.

Listing tiles is the API's hottest path, and decoding each tile's stored JSON (its static description with
GeoJSON, its run record) and encoding the answer again was most of its time. A tile object is a pure function
of (request id, stored description, status, run record), so its encoded JSON is cached under exactly those
values: any change of status or run record is a different key, and the answer is byte for byte what encoding
the decoded tile would give. Cached values are bytes (`orjson.Fragment`), which the garbage collector does not
track, so the cache adds no collection pauses.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson

from api.views import v1_tile
from evalbatch.store import merge_tile, merge_tiles

ENCODED_TILE_CACHE_SIZE = 8192  # about 1 kB each (key and value): under 10 MB per API process


@lru_cache(maxsize=ENCODED_TILE_CACHE_SIZE)
def encoded_v1_tile(request_id: str, static: bytes, status: bytes | None, info: bytes | None) -> orjson.Fragment | None:
    """The v1 tile object of these stored values as JSON; None when orjson cannot encode it (integers beyond 64
    bits), which the caller then answers through the standard encoder."""
    try:
        return orjson.Fragment(orjson.dumps(v1_tile(merge_tile(static, status, info), request_id)))
    except orjson.JSONEncodeError:
        return None


def v1_tiles_data(
    request_id: str, static: Sequence[bytes | None], statuses: Sequence[bytes | None], infos: Sequence[bytes | None]
) -> list[Any]:
    """The `data` of a tiles page from the stored values of its tiles (ids without a description skipped)."""
    rows = zip(static, statuses, infos, strict=True)
    encoded = [encoded_v1_tile(request_id, raw, status, info) for raw, status, info in rows if raw is not None]
    if all(tile is not None for tile in encoded):
        return encoded
    return [v1_tile(tile, request_id) for tile in merge_tiles(list(static), list(statuses), list(infos))]
