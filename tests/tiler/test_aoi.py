"""Parsing and validation of processRequest.input.bounds."""

import math

import pytest
import shapely
from tiler_checks import assert_footprints_cover, assert_points_covered

from tiler import AOIError, parse_bounds, tiles_for_aoi
from tiler.crs import CRS84_URL

SQUARE = [[8.44, 41.31], [9.66, 41.31], [9.66, 43.1], [8.44, 43.1], [8.44, 41.31]]
GEOMETRY = "processRequest.input.bounds.geometry"
BBOX = "processRequest.input.bounds.bbox"
CRS = "processRequest.input.bounds.properties.crs"


def _polygon(*rings):
    return {"geometry": {"type": "Polygon", "coordinates": list(rings)}}


def test_default_crs_is_crs84_and_area_is_geodesic():
    aoi = parse_bounds({"bbox": [8.44, 41.31, 9.66, 43.1]})
    assert aoi.crs_url == CRS84_URL
    # 1.22° × 1.79° at ~42°N: about 101 km × 199 km
    assert aoi.area_km2 == pytest.approx(1.22 * 111.32 * math.cos(math.radians(42.2)) * 1.79 * 111.1,
                                         rel=0.01)
    assert aoi.geometry.equals(shapely.box(8.44, 41.31, 9.66, 43.1))


@pytest.mark.parametrize(("crs", "url"), [
    ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", CRS84_URL),
    ("urn:ogc:def:crs:OGC::CRS84", CRS84_URL),
    ("http://www.opengis.net/def/crs/EPSG/0/4326", "http://www.opengis.net/def/crs/EPSG/0/4326"),
    ("urn:ogc:def:crs:EPSG::4326", "http://www.opengis.net/def/crs/EPSG/0/4326"),
    ("EPSG:4326", "http://www.opengis.net/def/crs/EPSG/0/4326"),
])
def test_crs_spellings_are_normalised_and_read_lon_lat(crs, url):
    aoi = parse_bounds(_polygon(SQUARE) | {"properties": {"crs": crs}})
    assert aoi.crs_url == url
    assert aoi.geometry.bounds == pytest.approx((8.44, 41.31, 9.66, 43.1))


def test_projected_crs_bounds_are_reprojected():
    # the cell 33TWM_1_0 of grid 0, shrunk by 1 m, given in its own UTM CRS (EPSG URL)
    bounds = {"bbox": [520041, 5179961, 540079, 5199999],
              "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32633"}}
    aoi = parse_bounds(bounds)
    assert aoi.crs_url == "http://www.opengis.net/def/crs/EPSG/0/32633"
    assert aoi.area_km2 == pytest.approx(20.038**2, rel=0.01)
    # grid 0 rows overlap by 200 m: the last row of the square to the north (WN) also meets it
    assert {t.name for t in tiles_for_aoi(aoi, 0, 20.0)} == {"33TWM_1_0", "33TWN_1_4"}


def test_bbox_and_geometry_together_give_their_intersection():
    aoi = parse_bounds(_polygon(SQUARE) | {"bbox": [9.0, 42.0, 10.0, 44.0]})
    assert aoi.geometry.bounds == pytest.approx((9.0, 42.0, 9.66, 43.1))


def test_multipolygon_with_hole():
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]]
    other = [[10, 10], [11, 10], [11, 11], [10, 11], [10, 10]]
    aoi = parse_bounds({"geometry": {"type": "MultiPolygon", "coordinates": [[outer, hole], [other]]}})
    assert aoi.geometry.area == pytest.approx(16 - 4 + 1)
    names = {t.name for t in tiles_for_aoi(aoi, 3, 0.0001)}
    assert "N01E001" not in names  # inside the hole
    assert len(names) == 16 - 4 + 1


def test_area_ignores_ring_orientation():
    ccw = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    cw = [[2, 0], [2, 1], [3, 1], [3, 0], [2, 0]]
    one = parse_bounds(_polygon(ccw)).area_km2
    both = parse_bounds({"geometry": {"type": "MultiPolygon", "coordinates": [[ccw], [cw]]}}).area_km2
    assert one == pytest.approx(111.32 * 110.6, rel=0.01)
    assert both == pytest.approx(2 * one, rel=1e-3)


def test_antimeridian_geometry_beyond_180_is_split():
    ring = [[179.5, -17.0], [180.5, -17.0], [180.5, -16.0], [179.5, -16.0], [179.5, -17.0]]
    aoi = parse_bounds(_polygon(ring))
    assert aoi.geometry.geom_type == "MultiPolygon"
    assert aoi.geometry.bounds == pytest.approx((-180.0, -17.0, 180.0, -16.0))
    tiles = tiles_for_aoi(aoi, 1, 10.0)
    assert {t.epsg for t in tiles} == {32760, 32701}
    assert_points_covered(aoi, tiles)
    assert_footprints_cover(aoi, tiles)
    assert sorted({t.name for t in tiles_for_aoi(aoi, 3, 0.0001)}) == ["S17E179", "S17W180"]


def test_projected_aoi_crossing_the_antimeridian_is_split():
    # 200 km × 100 km in UTM zone 60 north, reaching past 180°E
    aoi = parse_bounds({"bbox": [700000, 5000000, 900000, 5100000],
                        "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/32660"}})
    assert aoi.geometry.geom_type == "MultiPolygon"
    assert aoi.area_km2 == pytest.approx(200 * 100, rel=0.01)
    tiles = tiles_for_aoi(aoi, 2, 60.0)
    assert {t.epsg for t in tiles} == {32660, 32601}
    assert_points_covered(aoi, tiles)


def test_projected_hole_across_the_antimeridian_stays_inside_its_shell():
    # EPSG:3832 (PDC Mercator) has its central meridian at 150°E, so x ≈ 3,339,585 m is 180°.
    # The hole's first vertex lies east of 180°, the shell's west of it.
    shell = [[2.84e6, -5e5], [3.84e6, -5e5], [3.84e6, 5e5], [2.84e6, 5e5], [2.84e6, -5e5]]
    hole = [[3.40e6, -1e5], [3.40e6, 1e5], [3.28e6, 1e5], [3.28e6, -1e5], [3.40e6, -1e5]]
    aoi = parse_bounds({"geometry": {"type": "Polygon", "coordinates": [shell, hole]},
                        "properties": {"crs": "EPSG:3832"}})
    assert aoi.area_km2 == pytest.approx(1000 * 1000 - 120 * 200, rel=0.02)
    assert not aoi.geometry.contains(shapely.Point(-179.99, 0.0))
    assert not aoi.geometry.contains(shapely.Point(179.99, 0.0))
    assert aoi.geometry.contains(shapely.Point(176.0, 0.0))
    assert aoi.geometry.contains(shapely.Point(-176.0, 0.0))


@pytest.mark.parametrize(("bounds", "field", "fragment"), [
    ({}, "processRequest.input.bounds", "bbox"),
    ([1, 2, 3, 4], "processRequest.input.bounds", "object"),
    ({"bbox": [1, 2, 3]}, BBOX, "minx"),
    ({"bbox": [3, 2, 1, 4]}, BBOX, "antimeridian"),
    ({"bbox": [1, 4, 3, 2]}, BBOX, "miny"),
    ({"bbox": [1, 2, 1, 4]}, BBOX, "minx"),
    ({"bbox": [1, 2, float("nan"), 4]}, BBOX, "finite"),
    ({"bbox": [1, 2, float("inf"), 4]}, BBOX, "finite"),
    ({"bbox": ["1", 2, 3, 4]}, BBOX, "numbers"),
    ({"bbox": [0, 89, 1, 91]}, BBOX, "latitudes"),
    (_polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]), GEOMETRY, "Self-intersection"),
    (_polygon([[0, 0], [1, 0], [1, 1], [0, 1]]), "processRequest.input.bounds.geometry.coordinates[0]",
     "not closed"),
    (_polygon([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.5]]),
     "processRequest.input.bounds.geometry.coordinates[0]", "not closed"),
    (_polygon([[0, 0], [1, 0], [0, 0]]), "processRequest.input.bounds.geometry.coordinates[0]",
     "at least 4"),
    (_polygon([[0, 0], [1, float("nan")], [1, 1], [0, 1], [0, 0]]),
     "processRequest.input.bounds.geometry.coordinates[0]", "finite"),
    (_polygon([[0, 0], [1, 0], [2, 0], [0, 0]]), GEOMETRY, ""),
    (_polygon(), "processRequest.input.bounds.geometry.coordinates", "non-empty"),
    ({"geometry": {"type": "Point", "coordinates": [1, 2]}}, "processRequest.input.bounds.geometry.type",
     "Polygon"),
    ({"geometry": {"type": "MultiPolygon", "coordinates": []}},
     "processRequest.input.bounds.geometry.coordinates", "non-empty"),
    (_polygon([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]) | {"bbox": [5, 5, 6, 6]},
     "processRequest.input.bounds", "overlap"),
    ({"bbox": [1, 2, 3, 4], "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/999999"}},
     CRS, "999999"),
    ({"bbox": [1, 2, 3, 4], "properties": {"crs": "WGS84 please"}}, CRS, "unsupported"),
    ({"bbox": [1, 2, 3, 4], "properties": {"crs": 4326}}, CRS, "string"),
    ({"bbox": [1, 2, 3, 4], "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/4979"}}, CRS, "2D"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[170, 0], [190, 0], [190, 1], [-200, 1], [170, 0]]]}},
     GEOMETRY, "360"),
    ({"bbox": [-1e6, -1e6, 1e6, 1e6], "properties": {"crs": "EPSG:3031"}}, BBOX, "pole"),
])
def test_bad_bounds_raise_aoierror_with_the_field(bounds, field, fragment):
    with pytest.raises(AOIError) as info:
        parse_bounds(bounds)
    assert info.value.field == field
    assert fragment in info.value.message
    assert str(info.value).startswith(field)
