"""Processing units against the rules and worked examples of grids-and-cost.md §3."""

from datetime import UTC, datetime

import pytest

from grids import get_grid
from tiler import cost, parse_bounds, tiles_for_aoi

# grids-and-cost.md §1.2: (grid, resolution) -> (area factor, area factor with bufferX = bufferY = 5)
AREA_TABLE = {
    (0, 10.0): (15.3199, 15.4732), (0, 20.0): (3.8300, 3.9068), (0, 30.0): (1.7022, 1.7536),
    (0, 60.0): (0.4256, 0.4514), (1, 10.0): (3.8147, 3.8914), (1, 20.0): (0.9537, 0.9922),
    (2, 30.0): (42.4534, 42.7083), (2, 60.0): (10.6133, 10.7410), (2, 120.0): (2.6533, 2.7173),
    (2, 240.0): (0.6633, 0.6955), (2, 360.0): (0.2948, 0.3164), (3, 0.0001): (381.4697, 382.2330),
    (3, 0.0002): (95.3674, 95.7493), (6, 40.0): (23.8419, 24.0330), (6, 50.0): (15.2588, 15.4118),
    (6, 100.0): (3.8147, 3.8914), (7, 10.0): (15.2588, 15.4118), (7, 20.0): (3.8147, 3.8914),
}
# An AOI inside every grid's coverage (northern Italy).
AOI_BOUNDS = {"bbox": [11.5, 45.5, 12.5, 46.0]}


@pytest.fixture(scope="module")
def aoi():
    return parse_bounds(AOI_BOUNDS)


@pytest.mark.parametrize(("grid_id", "resolution"), sorted(AREA_TABLE))
def test_area_factor_table(aoi, grid_id, resolution):
    plain, buffered = AREA_TABLE[(grid_id, resolution)]
    px = get_grid(grid_id).pixels(resolution)
    assert cost.area_factor(px, px) == pytest.approx(plain, abs=5e-5)
    tile = tiles_for_aoi(aoi, grid_id, resolution, buffer_x=5, buffer_y=5)[0]
    assert cost.area_factor(tile.raster_width, tile.raster_height) == pytest.approx(buffered, abs=5e-5)


def test_area_factor_minimum():
    assert cost.area_factor(10, 10) == 0.01
    assert cost.area_factor(512, 512) == 1.0


def test_band_factor_ignores_datamask_unless_alone():
    assert cost.band_factor(["B04", "B08", "dataMask"]) == pytest.approx(2 / 3)
    assert cost.band_factor(["dataMask"]) == pytest.approx(1 / 3)
    assert cost.band_factor(["B02", "B03", "B04", "B08", "B11", "B12"]) == pytest.approx(2)
    with pytest.raises(ValueError):
        cost.band_factor([])


def test_format_and_fusion_factors():
    assert cost.format_factor(["UINT8"]) == 1
    assert cost.format_factor(["UINT16", "FLOAT32"]) == 2
    assert cost.fusion_factor(1) == 1
    assert cost.fusion_factor(2) == 2
    assert cost.fusion_factor(3, n_remote_collections=1) == 4


def test_worked_example_grid0_float32(aoi):
    # grid 0 at 10 m, buffer 5, B04 + B08 (+ dataMask), one FLOAT32 output, SIMPLE, 42 tiles
    tiles = tiles_for_aoi(parse_bounds({"bbox": [8.44, 41.31, 9.66, 43.1]}), 0, 10.0, 5, 5)
    assert len(tiles) >= 42
    tiles = tiles[:42]
    bands, sample_types = ["B04", "B08", "dataMask"], ["FLOAT32"]
    assert cost.tile_pu(tiles[0], bands, sample_types, samples=1) == pytest.approx(20.63, abs=0.005)
    estimate = cost.value_estimate(tiles, bands, sample_types, "SIMPLE",
                                   "2019-04-01T00:00:00Z", "2019-06-30T23:59:59Z")
    assert estimate == pytest.approx(866.5, abs=0.05)
    assert cost.billed_pu([cost.tile_pu(t, bands, sample_types, 1) for t in tiles]) == pytest.approx(
        288.8, abs=0.05)


def test_worked_example_orbit_january(aoi):
    # ORBIT over 1-31 January 2021, B04 + B08 + SCL, UINT8, grid 1 at 10 m, no buffer: 38.15 PU per tile
    assert cost.upstream_samples("ORBIT", "2021-01-01T00:00:00Z", "2021-01-31T23:59:59Z") == 10
    [tile] = tiles_for_aoi(parse_bounds({"bbox": [12.0, 45.6, 12.01, 45.61]}), 1, 10.0)
    pu = cost.tile_pu(tile, ["B04", "B08", "SCL"], ["UINT8"], samples=10)
    assert pu == pytest.approx(38.15, abs=0.005)
    estimate = cost.value_estimate([tile, tile], ["B04", "B08", "SCL"], ["UINT8"], "ORBIT",
                                   datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 31, 23, 59, 59, tzinfo=UTC))
    assert estimate == pytest.approx(2 * pu)


@pytest.mark.parametrize(("mosaicking", "start", "end", "samples"), [
    ("SIMPLE", "2021-01-01T00:00:00Z", "2021-12-31T00:00:00Z", 1),
    ("TILE", "2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z", 1),
    ("TILE", "2021-01-01T00:00:00Z", "2021-01-07T00:00:00Z", 2),
    ("ORBIT", "2021-01-01T00:00:00Z", "2021-12-31T23:59:59Z", 121),
])
def test_upstream_samples(mosaicking, start, end, samples):
    assert cost.upstream_samples(mosaicking, start, end) == samples


def test_upstream_samples_rejects_reversed_range():
    with pytest.raises(ValueError):
        cost.upstream_samples("ORBIT", "2021-02-01T00:00:00Z", "2021-01-01T00:00:00Z")


def test_billed_minimum_and_small_tiles():
    assert cost.billed_pu([30.0, 30.0]) == 100.0
    assert cost.billed_pu([600.0]) == pytest.approx(200.0)
    # a 10,000 px tile (possible with GeoPackage features) pays the full rate, a bigger one a third
    assert cost.billed_pu([300.0, 300.0], tile_pixels=[10_000, 10_001]) == pytest.approx(400.0)
