"""The request's cached catalog search (workers.scene_cache): per tile exactly the items of a live per-tile
search, and a live search whenever the cache misses (expired, absent, written for another filter)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from shapely.geometry import mapping, shape
from support.batch_requests import make_spec, submit, wait_for

from evalbatch import keys
from evalbatch.settings import Settings
from evalbatch.states import RequestStatus
from evalbatch.store import Store
from workers import catalog, scene_cache
from workers.catalog import DataFilter
from workers.pipeline import Datasource
from workers.tilegrid import TileGrid

TRIVIAL = """//VERSION=3
function setup() { return {input: ["dataMask"], output: {bands: 1, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [s.dataMask]; }
"""
# Wider than the archive: tiles with scenes, tiles without, and tiles whose buffered footprint reaches
# scenes outside the AOI itself.
WIDE_AOI = [11.75, 45.85, 12.25, 46.25]
CASES = [("mostRecent", None), ("leastCC", 60.0)]


def analysed(store: Store, settings: Settings, order: str, max_cloud: float | None) -> tuple[str, DataFilter]:
    """A request over WIDE_AOI analysed by the workers: its id and its data filter."""
    spec = make_spec(TRIVIAL, order=order, max_cloud=max_cloud, buffer_x=40, buffer_y=40)
    spec = replace(spec, bounds={**spec.bounds, "bbox": WIDE_AOI})
    request_id = submit(store, spec, user_action="ANALYSE")
    record = wait_for(store, request_id, {RequestStatus.ANALYSIS_DONE.value, RequestStatus.FAILED.value})
    assert record["status"] == RequestStatus.ANALYSIS_DONE, record.get("error")
    return request_id, Datasource.from_spec(spec, settings).data_filter


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def request_search(request, store, processing_stack):
    order, max_cloud = request.param
    request_id, flt = analysed(store, processing_stack.settings, order, max_cloud)
    return request_id, flt, processing_stack.settings


def test_cached_items_equal_a_live_search_of_each_tile(store, request_search):
    request_id, flt, settings = request_search
    key = scene_cache.fingerprint(settings.stac_url, flt)
    tiles = store.get_tiles(request_id, list(store.iter_tile_ids(request_id)))
    counts = []
    for tile in tiles:
        cached = scene_cache.cached_scenes(store.redis, request_id, tile["id"], key, flt.mosaicking_order)
        live = scene_cache.live_search(settings.stac_url, flt, TileGrid.from_tile(tile))
        assert cached is not None
        assert cached == live, f"tile {tile['name']}"
        assert tile["sceneCount"] == len(live)  # the analysis counts what the tile reads
        counts.append(len(live))
    assert min(counts) == 0 and max(counts) > 0  # empty tiles and tiles with scenes were both checked


def test_a_miss_searches_the_catalog_live(store, request_search, monkeypatch):
    request_id, flt, settings = request_search
    tile = next(t for t in store.get_tiles(request_id, list(store.iter_tile_ids(request_id))) if t["sceneCount"])
    grid = TileGrid.from_tile(tile)
    live = scene_cache.live_search(settings.stac_url, flt, grid)
    searches = []
    real_search = catalog.search
    monkeypatch.setattr(catalog, "search", lambda *args: searches.append(args) or real_search(*args))

    def scenes(data_filter: DataFilter) -> list[catalog.CatalogItem]:
        return scene_cache.scenes_for_tile(store.redis, request_id, tile["id"], settings.stac_url, data_filter,
                                           grid)

    assert scenes(flt) == live and searches == []  # served from the cache
    other = DataFilter(flt.collection, flt.time_from, flt.time_to, 5.0, flt.mosaicking_order)
    assert scenes(other) == real_search(settings.stac_url, other, mapping(grid.footprint()))
    assert len(searches) == 1  # a filter the cache was not written for
    assert 0 < store.redis.ttl(keys.scene_items(request_id)) <= scene_cache.CACHE_TTL_S
    assert 0 < store.redis.ttl(keys.scene_tiles(request_id)) <= scene_cache.CACHE_TTL_S
    store.redis.delete(keys.scene_items(request_id))  # what expiry does
    assert scene_cache.cached_scenes(store.redis, request_id, tile["id"],
                                     scene_cache.fingerprint(settings.stac_url, flt), flt.mosaicking_order) is None
    assert scenes(flt) == live and len(searches) == 2
    store.redis.delete(keys.scene_tiles(request_id))
    assert scenes(flt) == live and len(searches) == 3


def test_items_survive_the_compact_encoding(store, request_search):
    _, flt, settings = request_search
    items = catalog.search(settings.stac_url, flt, {"type": "Polygon", "coordinates": [
        [[11.0, 45.0], [13.0, 45.0], [13.0, 47.0], [11.0, 47.0], [11.0, 45.0]]]})
    assert items
    assert [catalog.item_from_stac(scene_cache.item_to_stac(i)) for i in items] == items


def test_covering_geometry_contains_every_footprint():
    from tiler import parse_bounds, tiles_for_aoi

    tiles = tiles_for_aoi(parse_bounds({"bbox": [11.5, 45.5, 12.5, 46.5]}), 0, 60.0, 30, 30)
    footprints = [TileGrid.from_tiler(t).footprint() for t in tiles]
    area = shape(scene_cache.covering_geometry(footprints))
    assert len({t.epsg for t in tiles}) == 2  # both sides of the zone boundary
    assert all(area.buffer(1e-9).contains(f) for f in footprints)


def test_results_collections_are_not_cached():
    live_results = DataFilter.from_data(
        {"type": "batch-1234", "dataFilter": {"timeRange": {"from": "2024-05-01T00:00:00Z",
                                                            "to": "2024-05-02T00:00:00Z"}}}, "sentinel-2-l2a")
    archive = DataFilter.from_data(
        {"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": "2024-05-01T00:00:00Z",
                                                                "to": "2024-05-02T00:00:00Z"}}}, "sentinel-2-l2a")
    assert not scene_cache.cacheable(live_results)
    assert scene_cache.cacheable(archive)
