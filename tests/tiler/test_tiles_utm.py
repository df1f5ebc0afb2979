"""AOI × UTM grids 0, 1, 2."""

import json
import pickle
from dataclasses import FrozenInstanceError

import pytest
import shapely
from pyproj import Transformer
from tiler_checks import (
    assert_each_tile_once_and_needed,
    assert_footprints_cover,
    assert_points_covered,
    bbox_aoi_bounds,
)

from grids import get_grid
from tiler import AOIError, Tile, TileLimitError, count_tiles, parse_bounds, tiles_for_aoi

ZONE_CROSSING = bbox_aoi_bounds(11.5, 45.5, 12.5, 46.0)  # crosses 12°E, zones 32 and 33


def _aoi_around(epsg, x, y, half_size_deg=0.001):
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(x, y)
    return parse_bounds(bbox_aoi_bounds(lon - half_size_deg, lat - half_size_deg,
                                        lon + half_size_deg, lat + half_size_deg))


def test_spec_example_tile_33TWM_1_0():
    # batch-api.md §4.8: grid 0 tile 33TWM_1_0, origin (520040, 5200000) in EPSG:32633
    aoi = _aoi_around(32633, 520040 + 10020, 5200000 - 10020)
    [tile] = tiles_for_aoi(aoi, 0, 10.0)
    assert tile.name == "33TWM_1_0"
    assert tile.epsg == 32633
    assert tile.origin == (520040.0, 5200000.0)
    assert tile.crs_urn == "urn:ogc:def:crs:EPSG::32633"
    assert tile.origin_geojson() == {
        "type": "Point", "coordinates": [520040.0, 5200000.0],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
    }
    expected = [[15.26337, 46.95323], [15.52672, 46.95232], [15.52496, 46.77199],
                [15.26249, 46.77289], [15.26337, 46.95323]]
    ring = tile.footprint_geojson()["coordinates"][0]
    assert tile.footprint_geojson()["type"] == "Polygon"
    assert ring == [[pytest.approx(x, abs=1e-5), pytest.approx(y, abs=1e-5)] for x, y in expected]


def test_spec_example_tile_31UDS_7_2():
    aoi = _aoi_around(32631, 475000, 5675000)
    [tile] = tiles_for_aoi(aoi, 1, 10.0)
    assert (tile.name, tile.epsg, tile.origin) == ("31UDS_7_2", 32631, (470000.0, 5680000.0))


def test_zone_crossing_aoi_has_tiles_in_both_zones_and_covers_the_aoi():
    aoi = parse_bounds(ZONE_CROSSING)
    for grid_id, resolution in ((0, 10.0), (1, 20.0), (2, 60.0)):
        tiles = tiles_for_aoi(aoi, grid_id, resolution)
        assert {t.epsg for t in tiles} == {32632, 32633}
        assert {t.name[:2] for t in tiles} == {"32", "33"}
        assert_each_tile_once_and_needed(aoi, tiles)
        assert_footprints_cover(aoi, tiles)
        assert_points_covered(aoi, tiles)
        # each zone's tiles only serve the AOI part of that zone's strip (zone clipping)
        for tile in tiles:
            west = 6.0 if tile.epsg == 32632 else 12.0
            assert tile.footprint.intersects(shapely.box(west, -90, west + 6, 90))
    names = {t.name.split("_")[0] for t in tiles_for_aoi(aoi, 1, 10.0)}
    assert "32TQR" in names


def test_grid0_cells_of_a_square_overlap_by_200m_and_span_100200m():
    aoi = _aoi_around(32633, 550000, 5150000, half_size_deg=0.7)
    tiles = [t for t in tiles_for_aoi(aoi, 0, 10.0) if t.name.startswith("33TWM_")]
    assert len(tiles) == 25
    xs = sorted({t.origin[0] for t in tiles})
    ys = sorted({t.origin[1] for t in tiles}, reverse=True)
    assert xs == [500000 + 20040 * i for i in range(5)]
    assert ys == [5200000 - 20040 * i for i in range(5)]
    assert xs[-1] + 20040 - 600000 == 200


@pytest.mark.parametrize("grid_id", [0, 1, 2])
def test_pixel_counts_at_every_resolution(grid_id):
    aoi = parse_bounds(bbox_aoi_bounds(15.0, 46.0, 15.05, 46.05))
    grid = get_grid(grid_id)
    for resolution in grid.resolutions:
        for tile in tiles_for_aoi(aoi, grid_id, resolution):
            assert tile.width_px == tile.height_px == round(grid.tile_size / resolution)
            assert tile.tile_width == pytest.approx(grid.tile_size)


def test_buffers_bounds_and_transform_follow_the_spec_formula():
    aoi = _aoi_around(32633, 530060, 5189980)
    [tile] = tiles_for_aoi(aoi, 0, 10.0, buffer_x=5, buffer_y=3)
    x0, y0 = tile.origin
    assert (tile.width_px, tile.height_px) == (2004, 2004)
    assert (tile.raster_width, tile.raster_height) == (2014, 2010)
    assert tile.bounds == (x0 - 50, y0 - 20040 - 30, x0 + 20040 + 50, y0 + 30)
    minx, miny, maxx, maxy = tile.bounds
    assert tile.transform @ (0, 0) == (minx, maxy)
    assert tile.transform @ (tile.raster_width, tile.raster_height) == pytest.approx((maxx, miny))


def test_origin_is_the_upper_left_corner_of_the_footprint():
    aoi = parse_bounds(ZONE_CROSSING)
    to_wgs84 = {}
    for tile in tiles_for_aoi(aoi, 1, 10.0):
        transformer = to_wgs84.setdefault(tile.epsg, Transformer.from_crs(tile.epsg, 4326, always_xy=True))
        lon, lat = transformer.transform(*tile.origin)
        first = tile.footprint.exterior.coords[0]
        assert first == pytest.approx((lon, lat), abs=1e-9)
        ul, ur, lr, ll = tile.footprint.exterior.coords[:4]
        assert ul[1] > ll[1] and ur[1] > lr[1]  # the origin is on the north edge
        assert ul[0] < ur[0] and ll[0] < lr[0]  # ... at its west end
        assert tile.origin[0] % 10000 == 0 and tile.origin[1] % 10000 == 0


def test_ids_are_stable_and_shared_by_sub_aois():
    full = tiles_for_aoi(parse_bounds(ZONE_CROSSING), 1, 10.0)
    again = tiles_for_aoi(parse_bounds(ZONE_CROSSING), 1, 10.0)
    assert [(t.id, t.name) for t in full] == [(t.id, t.name) for t in again]
    sub = tiles_for_aoi(parse_bounds(bbox_aoi_bounds(11.9, 45.7, 12.1, 45.8)), 1, 10.0)
    by_id = {t.id: t for t in full}
    assert sub and all(t.id in by_id for t in sub)
    assert all((by_id[t.id].name, by_id[t.id].origin, by_id[t.id].epsg) == (t.name, t.origin, t.epsg)
               for t in sub)


def test_equator_aoi_gets_north_and_south_tiles():
    aoi = parse_bounds(bbox_aoi_bounds(36.2, -0.3, 36.5, 0.3))
    tiles = tiles_for_aoi(aoi, 1, 10.0)
    assert {t.epsg for t in tiles} == {32637, 32737}
    assert_each_tile_once_and_needed(aoi, tiles)
    assert_points_covered(aoi, tiles)
    south = [t for t in tiles if t.epsg == 32737]
    assert max(t.origin[1] for t in south) == 10_000_000
    assert all(t.name[2] == "M" for t in south)
    assert all(t.name[2] == "N" for t in tiles if t.epsg == 32637)


def test_only_the_covered_latitudes_are_tiled():
    aoi = parse_bounds(bbox_aoi_bounds(20.0, 79.5, 21.0, 85.0))
    tiles = tiles_for_aoi(aoi, 1, 20.0)
    assert tiles
    assert min(t.footprint.bounds[1] for t in tiles) < 80.6
    assert all(t.footprint.bounds[1] < 80.6 for t in tiles)
    assert_points_covered(parse_bounds(bbox_aoi_bounds(20.0, 79.5, 21.0, 80.5)), tiles)


def test_aoi_beyond_the_utm_coverage_is_an_error_naming_it():
    aoi = parse_bounds(bbox_aoi_bounds(20.0, 81.5, 21.0, 85.0))
    with pytest.raises(AOIError) as info:
        tiles_for_aoi(aoi, 2, 60.0)
    assert info.value.field == "processRequest.input.bounds"
    assert "81.0" in info.value.message


def test_tile_limit():
    aoi = parse_bounds(ZONE_CROSSING)
    count = len(tiles_for_aoi(aoi, 1, 10.0))
    assert len(tiles_for_aoi(aoi, 1, 10.0, max_tiles=count)) == count
    with pytest.raises(TileLimitError) as info:
        tiles_for_aoi(aoi, 1, 10.0, max_tiles=count - 1)
    assert (info.value.count, info.value.limit) == (count, count - 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"resolution": 15.0}, "not allowed for grid 1"),
    ({"resolution": 10.0, "buffer_x": -1}, "bufferX"),
    ({"resolution": 10.0, "buffer_y": 40000}, "bufferY"),
])
def test_bad_resolution_and_buffers(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiles_for_aoi(parse_bounds(ZONE_CROSSING), 1, **kwargs)


def test_conus_on_grid1_covers_the_outline(conus):
    tiles = tiles_for_aoi(conus, 1, 10.0)
    assert 75_000 < len(tiles) < 95_000
    assert_each_tile_once_and_needed(conus, tiles)
    assert_points_covered(conus, tiles, count=5000)
    assert_footprints_cover(conus, tiles)


@pytest.mark.parametrize("bbox", [
    (17.5, -34.5, 18.5, -33.5),  # southern hemisphere, zones 33/34
    (-3.5, 69.5, 3.5, 72.0),  # high latitude, zones 30/31/32, bands W/X
    (-0.5, -0.5, 0.5, 0.5),  # equator × Greenwich: four zone/hemisphere parts
    (-179.9, 60.0, -177.0, 61.0),  # zones 1 (west end)
])
@pytest.mark.parametrize(("grid_id", "resolution"), [(0, 60.0), (1, 20.0), (2, 360.0)])
def test_coverage_in_other_hemispheres_and_latitudes(bbox, grid_id, resolution):
    aoi = parse_bounds(bbox_aoi_bounds(*bbox))
    tiles = tiles_for_aoi(aoi, grid_id, resolution)
    assert_each_tile_once_and_needed(aoi, tiles)
    assert_points_covered(aoi, tiles)
    assert_footprints_cover(aoi, tiles)
    for tile in tiles:
        zone = int(tile.name[:2])
        assert tile.epsg in (32600 + zone, 32700 + zone)
        assert (tile.name[2] < "N") == (tile.epsg > 32700)  # bands C-M are south, N-X north


def test_grid2_has_one_cell_per_square():
    tiles = tiles_for_aoi(parse_bounds(ZONE_CROSSING), 2, 60.0)
    assert all(t.name.endswith("_0_0") for t in tiles)
    assert all(t.origin[0] % 100_000 == 0 and t.origin[1] % 100_000 == 0 for t in tiles)


def test_tile_limit_stops_early_on_a_global_aoi():
    world = parse_bounds(bbox_aoi_bounds(-180, -90, 180, 90))
    with pytest.raises(TileLimitError) as info:
        tiles_for_aoi(world, 1, 10.0, max_tiles=1000)
    assert 1000 < info.value.count < 5_000_000
    assert "at least" in str(info.value)


@pytest.mark.parametrize(("grid_id", "resolution"), [(0, 10.0), (2, 60.0)])
def test_conus_on_grids_0_and_2_covers_the_outline(conus, grid_id, resolution):
    tiles = tiles_for_aoi(conus, grid_id, resolution)
    assert_each_tile_once_and_needed(conus, tiles)
    assert_points_covered(conus, tiles, count=5000)
    assert_footprints_cover(conus, tiles)


def test_tiles_survive_json_and_pickle_round_trips():
    tiles = tiles_for_aoi(parse_bounds(ZONE_CROSSING), 0, 20.0, buffer_x=2, buffer_y=1)
    for tile in tiles[:5]:
        via_json = Tile.from_dict(json.loads(json.dumps(tile.to_dict())))
        assert via_json == tile
        assert via_json.bounds == tile.bounds
        assert pickle.loads(pickle.dumps(tile)) == tile
    with pytest.raises(FrozenInstanceError):
        tiles[0].name = "other"


@pytest.mark.parametrize(("grid_id", "resolution"), [(0, 20.0), (1, 10.0), (2, 60.0), (3, 0.0002), (7, 20.0)])
def test_count_tiles_matches_tiles_for_aoi(grid_id, resolution):
    aoi = parse_bounds(ZONE_CROSSING)
    assert count_tiles(aoi, grid_id, resolution) == len(tiles_for_aoi(aoi, grid_id, resolution))
    with pytest.raises(TileLimitError):
        count_tiles(aoi, grid_id, resolution, max_tiles=0)
