"""The request's catalog search, cached in Redis so that tile jobs need not search the catalog again.

The analysis searches the catalog once for the area covering every tile footprint (`covering_geometry`) and
stores, with `store_scenes`, each item once plus, per tile, the items whose geometry intersects the tile's
footprint (`workers.tilegrid.TileGrid.footprint`, the polygon a live per-tile search uses), in mosaicking
order. A tile job then reads its items with `cached_scenes` in two Redis round trips; the result is the same
list a live per-tile search returns. The cache expires after CACHE_TTL_S and is keyed to the datasource and
the catalog it came from: anything missing, expired or written for another filter is a miss, and the tile
searches the catalog live (`scenes_for_tile`, `live_search`).

Results collections (`batch-<requestId>`) are not cached: their items appear while the earlier request runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import redis
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from evalbatch import keys
from workers import catalog
from workers.tilegrid import TileGrid

CACHE_TTL_S = 2 * 24 * 3600  # a tile processed later than this after the analysis searches live
FILTER_FIELD = "filter"  # field of the per-tile hash holding the fingerprint of the cached search
INDEX_SEPARATOR = ","
MAX_SEARCH_VERTICES = 2000  # beyond this the covering area is the convex hull (a simpler superset)


def cacheable(flt: catalog.DataFilter) -> bool:
    """Whether a datasource's search may be cached (not the live results collection of another request)."""
    return not catalog.is_results_collection(flt.collection)


def fingerprint(stac_url: str, flt: catalog.DataFilter) -> str:
    """Identifies the search the cache holds: the catalog and every field of the data filter."""
    text = json.dumps([stac_url, flt.collection, flt.time_from.isoformat(), flt.time_to.isoformat(),
                       flt.max_cloud_coverage, flt.mosaicking_order])
    return hashlib.sha256(text.encode()).hexdigest()


def covering_geometry(footprints: Sequence[BaseGeometry]) -> dict[str, Any]:
    """A GeoJSON area containing every footprint (their union, or its convex hull when the union is complex),
    to search the catalog once for all tiles: every item a tile's own search finds intersects it."""
    union = shapely.unary_union(list(footprints))
    if shapely.get_num_coordinates(union) > MAX_SEARCH_VERTICES:
        union = union.convex_hull
    return mapping(union)


def items_per_footprint(
    items: Sequence[catalog.CatalogItem], footprints: Sequence[BaseGeometry]
) -> list[list[int]]:
    """For each footprint, the indices (ascending, i.e. in the items' order) of the items intersecting it."""
    tree = shapely.STRtree(list(footprints))
    per_footprint: list[list[int]] = [[] for _ in footprints]
    for item_index, item in enumerate(items):
        for footprint_index in tree.query(item.geometry, predicate="intersects"):
            per_footprint[int(footprint_index)].append(item_index)
    return per_footprint


def item_to_stac(item: catalog.CatalogItem) -> dict[str, Any]:
    """The compact STAC dict of an item that `catalog.item_from_stac` turns back into the same item."""
    properties: dict[str, Any] = {"datetime": item.datetime.isoformat()}
    optional = {
        "eo:cloud_cover": item.cloud_cover,
        "proj:epsg": item.epsg,
        "s2:processing_baseline": item.baseline,
        "s2:mgrs_tile": item.mgrs_tile,
        "sat:relative_orbit": item.orbit,
    }
    properties.update({key: value for key, value in optional.items() if value is not None})
    return {
        "id": item.id,
        "geometry": mapping(item.geometry),
        "properties": properties,
        "assets": {key: {"href": href} for key, href in item.assets.items()},
    }


def store_scenes(
    client: redis.Redis,
    request_id: str,
    key: str,
    items: Sequence[catalog.CatalogItem],
    tile_items: dict[int, Sequence[int]],
    ttl_s: int = CACHE_TTL_S,
) -> None:
    """Replace the request's cache: `items` (the request's search, filtered and in mosaicking order), per
    tile id the indices of its items, and the search `key` (`fingerprint`); both hashes expire after `ttl_s`."""
    used = sorted({index for indices in tile_items.values() for index in indices})
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(keys.scene_items(request_id), keys.scene_tiles(request_id))
        if used:
            pipe.hset(keys.scene_items(request_id), mapping={
                str(index): json.dumps(item_to_stac(items[index]), separators=(",", ":")) for index in used
            })
            pipe.expire(keys.scene_items(request_id), ttl_s)
        pipe.hset(keys.scene_tiles(request_id), mapping={
            FILTER_FIELD: key,
            **{str(tile_id): INDEX_SEPARATOR.join(map(str, indices)) for tile_id, indices in tile_items.items()},
        })
        pipe.expire(keys.scene_tiles(request_id), ttl_s)
        pipe.execute()


def cached_scenes(
    client: redis.Redis, request_id: str, tile_id: int, key: str, order: str
) -> list[catalog.CatalogItem] | None:
    """The tile's items from the cache in mosaicking `order`, or None on a miss (absent, expired, other key)."""
    cached_key, indices = client.hmget(keys.scene_tiles(request_id), [FILTER_FIELD, str(tile_id)])
    if cached_key is None or indices is None or cached_key.decode() != key:
        return None
    fields = [i for i in indices.decode().split(INDEX_SEPARATOR) if i]
    if not fields:
        return []
    documents = client.hmget(keys.scene_items(request_id), fields)
    if any(document is None for document in documents):
        return None
    items = [catalog.item_from_stac(json.loads(document)) for document in documents]
    return catalog.sort_items(items, order)


def live_search(stac_url: str, flt: catalog.DataFilter, grid: TileGrid) -> list[catalog.CatalogItem]:
    """A tile's own catalog search: the items intersecting its footprint."""
    return catalog.search(stac_url, flt, mapping(grid.footprint()))


def scenes_for_tile(
    client: redis.Redis, request_id: str, tile_id: int, stac_url: str, flt: catalog.DataFilter, grid: TileGrid
) -> list[catalog.CatalogItem]:
    """The tile's catalog items: from the request's cache when it holds them, else a live search."""
    if cacheable(flt):
        cached = cached_scenes(client, request_id, tile_id, fingerprint(stac_url, flt), flt.mosaicking_order)
        if cached is not None:
            return cached
    return live_search(stac_url, flt, grid)
