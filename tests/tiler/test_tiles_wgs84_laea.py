"""AOI × WGS84 grid 3 and LAEA grids 6 and 7."""

import pytest
from pyproj import Transformer
from tiler_checks import (
    assert_each_tile_once_and_needed,
    assert_footprints_cover,
    assert_points_covered,
    bbox_aoi_bounds,
)

from grids import get_grid
from tiler import AOIError, parse_bounds, tiles_for_aoi


@pytest.mark.parametrize(("bbox", "name", "origin"), [
    ((35.2, -6.8, 35.8, -6.2), "S07E035", (35.0, -6.0)),
    ((-0.8, 0.2, -0.2, 0.8), "N00W001", (-1.0, 1.0)),
    ((12.2, 46.2, 12.8, 46.8), "N46E012", (12.0, 47.0)),
])
def test_grid3_names_and_upper_left_origin(bbox, name, origin):
    [tile] = tiles_for_aoi(parse_bounds(bbox_aoi_bounds(*bbox)), 3, 0.0001)
    assert (tile.name, tile.origin, tile.epsg) == (name, origin, 4326)
    assert tile.crs_urn == "urn:ogc:def:crs:EPSG::4326"
    assert tile.origin_geojson()["coordinates"] == list(origin)
    assert (tile.width_px, tile.height_px) == (10000, 10000)
    assert tile.bounds == (origin[0], origin[1] - 1.0, origin[0] + 1.0, origin[1])


def test_grid3_cell_aligned_bbox_does_not_take_touching_neighbours():
    tiles = tiles_for_aoi(parse_bounds(bbox_aoi_bounds(12, 46, 14, 48)), 3, 0.0002)
    assert sorted(t.name for t in tiles) == ["N46E012", "N46E013", "N47E012", "N47E013"]
    assert all((t.width_px, t.raster_width) == (5000, 5000) for t in tiles)


def test_grid3_buffer_in_degrees():
    [tile] = tiles_for_aoi(parse_bounds(bbox_aoi_bounds(35.2, -6.8, 35.8, -6.2)), 3, 0.0001, 5, 5)
    assert tile.bounds == pytest.approx((34.9995, -7.0005, 36.0005, -5.9995))
    assert tile.raster_width == 10010


def test_grid3_covers_a_polygon_near_the_pole_and_the_antimeridian():
    ring = [[175.5, 85.2], [184.5, 86.0], [182.0, 89.5], [176.0, 88.0], [175.5, 85.2]]
    aoi = parse_bounds({"geometry": {"type": "Polygon", "coordinates": [ring]}})
    tiles = tiles_for_aoi(aoi, 3, 0.0001)
    assert {t.name[3] for t in tiles} == {"E", "W"}
    assert "N89W180" in {t.name for t in tiles}
    assert_each_tile_once_and_needed(aoi, tiles)
    assert_footprints_cover(aoi, tiles, rel_tol=0)
    assert_points_covered(aoi, tiles)


def _aoi_around_laea(x, y):
    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(x, y)
    return parse_bounds(bbox_aoi_bounds(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001))


def test_laea_spec_examples():
    [tile6] = tiles_for_aoi(_aoi_around_laea(4_050_000, 2_050_000), 6, 100.0)
    assert (tile6.name, tile6.epsg, tile6.origin) == ("E40N20", 3035, (4_000_000.0, 2_100_000.0))
    assert tile6.width_px == 1000
    [tile7] = tiles_for_aoi(_aoi_around_laea(4_010_000, 2_010_000), 7, 10.0)
    assert (tile7.name, tile7.origin) == ("E200N100", (4_000_000.0, 2_020_000.0))
    assert tile7.width_px == 2000


@pytest.mark.parametrize("grid_id", [6, 7])
def test_laea_tiles_cover_the_aoi_at_every_resolution(grid_id):
    aoi = parse_bounds(bbox_aoi_bounds(9.5, 46.0, 12.5, 48.0))
    grid = get_grid(grid_id)
    for resolution in grid.resolutions:
        tiles = tiles_for_aoi(aoi, grid_id, resolution)
        assert all(t.width_px == round(grid.tile_size / resolution) for t in tiles)
    assert_each_tile_once_and_needed(aoi, tiles)
    assert_points_covered(aoi, tiles)
    assert_footprints_cover(aoi, tiles)
    assert all(t.origin[0] % grid.tile_size == 0 and t.origin[1] % grid.tile_size == 0 for t in tiles)


def test_laea_only_tiles_the_covered_part():
    aoi = parse_bounds(bbox_aoi_bounds(40.0, 40.0, 50.0, 41.0))  # crosses 44.83°E
    tiles = tiles_for_aoi(aoi, 6, 100.0)
    assert tiles
    assert all(t.footprint.bounds[0] < 44.83 for t in tiles)


def test_laea_outside_coverage_names_the_coverage(conus):
    with pytest.raises(AOIError) as info:
        tiles_for_aoi(conus, 6, 100.0)
    assert info.value.field == "processRequest.input.bounds"
    assert "EPSG:3035" in info.value.message
    assert "-35.58" in info.value.message


@pytest.mark.parametrize(("grid_id", "resolution", "epsg"), [(3, 0.0001, 4326), (6, 50.0, 3035), (7, 20.0, 3035)])
def test_footprint_starts_at_the_origin_and_runs_clockwise(grid_id, resolution, epsg):
    to_wgs84 = Transformer.from_crs(epsg, 4326, always_xy=True)
    for tile in tiles_for_aoi(parse_bounds(bbox_aoi_bounds(9.5, 46.0, 12.5, 48.0)), grid_id, resolution):
        ul, ur, lr, ll, closing = tile.footprint.exterior.coords
        assert ul == pytest.approx(to_wgs84.transform(*tile.origin), abs=1e-9)
        assert closing == ul
        assert ul[1] > ll[1] and ur[1] > lr[1] and ul[0] < ur[0] and ll[0] < lr[0]
        ring = tile.footprint_geojson()["coordinates"][0]
        assert ring[0] == [round(ul[0], 6), round(ul[1], 6)]
