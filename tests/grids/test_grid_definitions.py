"""Grid definitions against the tables of grids-and-cost.md §1."""

import numpy as np
import pytest

from grids import GRIDS, Grid, UnknownGridError, get_grid

# grids-and-cost.md §1.1
API_TABLE = {
    0: ("UTM 20km grid", 20040.0, [10.0, 20.0, 30.0, 60.0], "METRE"),
    1: ("UTM 10km grid", 10000.0, [10.0, 20.0], "METRE"),
    2: ("UTM 100km grid", 100080.0, [30.0, 60.0, 120.0, 240.0, 360.0], "METRE"),
    3: ("WGS84 1 degree grid", 1.0, [0.0001, 0.0002], "DEGREE"),
    6: ("LAEA 100km grid", 100000.0, [40.0, 50.0, 100.0], "METRE"),
    7: ("LAEA 20km grid", 20000.0, [10.0, 20.0], "METRE"),
}

# grids-and-cost.md §1.2: (grid, resolution) -> tile side in px
PIXEL_TABLE = {
    (0, 10.0): 2004, (0, 20.0): 1002, (0, 30.0): 668, (0, 60.0): 334,
    (1, 10.0): 1000, (1, 20.0): 500,
    (2, 30.0): 3336, (2, 60.0): 1668, (2, 120.0): 834, (2, 240.0): 417, (2, 360.0): 278,
    (3, 0.0001): 10000, (3, 0.0002): 5000,
    (6, 40.0): 2500, (6, 50.0): 2000, (6, 100.0): 1000,
    (7, 10.0): 2000, (7, 20.0): 1000,
}


def test_served_ids_are_exactly_the_documented_ones():
    assert list(GRIDS) == [0, 1, 2, 3, 6, 7]


@pytest.mark.parametrize("grid_id", sorted(API_TABLE))
def test_to_api_matches_the_tilinggrids_table(grid_id):
    name, size, resolutions, unit = API_TABLE[grid_id]
    assert get_grid(grid_id).to_api() == {
        "id": grid_id,
        "name": name,
        "properties": {"tileWidth": size, "tileHeight": size, "resolutions": resolutions, "unit": unit},
        "links": {},
    }


@pytest.mark.parametrize(("grid_id", "resolution"), sorted(PIXEL_TABLE))
def test_pixels_at_every_allowed_resolution(grid_id, resolution):
    grid = get_grid(grid_id)
    assert grid.pixels(resolution) == PIXEL_TABLE[(grid_id, resolution)]
    assert grid.pixels(resolution) * resolution == pytest.approx(grid.tile_size)


def test_every_allowed_resolution_is_in_the_pixel_table():
    listed = {(g.id, r) for g in GRIDS.values() for r in g.resolutions}
    assert listed == set(PIXEL_TABLE)


def test_grid_zero_is_a_real_grid():
    grid = get_grid(0)
    assert isinstance(grid, Grid)
    assert grid.id == 0
    assert grid.crs_kind == "UTM"


def test_numpy_integer_ids_are_accepted():
    assert get_grid(np.int64(6)).name == "LAEA 100km grid"


def test_integer_resolution_is_accepted():
    assert get_grid(1).pixels(10) == 1000


@pytest.mark.parametrize("grid_id", [4, 5, -1, 8, 100])
def test_unknown_grid_names_the_id_and_the_valid_ids(grid_id):
    with pytest.raises(UnknownGridError) as info:
        get_grid(grid_id)
    message = str(info.value)
    assert str(grid_id) in message
    assert "0, 1, 2, 3, 6, 7" in message


@pytest.mark.parametrize("bad", [None, "0", 1.0, True])
def test_non_integer_grid_ids_are_unknown(bad):
    with pytest.raises(UnknownGridError):
        get_grid(bad)


def test_check_resolution_message():
    with pytest.raises(ValueError) as info:
        get_grid(0).check_resolution(15.0)
    assert str(info.value) == "resolution 15.0 is not allowed for grid 0 (allowed: 10.0, 20.0, 30.0, 60.0)"


@pytest.mark.parametrize("bad", [0.0001, 15, float("nan"), -10.0, "ten", None])
def test_pixels_rejects_resolutions_of_other_grids_and_garbage(bad):
    with pytest.raises(ValueError, match=r"allowed: 10\.0, 20\.0"):
        get_grid(1).pixels(bad)


def test_degree_grid_lists_its_resolutions_in_the_message():
    with pytest.raises(ValueError, match=r"allowed: 0\.0001, 0\.0002"):
        get_grid(3).check_resolution(0.001)


def test_utm_tile_sizes_are_multiples_of_every_resolution():
    for grid in GRIDS.values():
        for resolution in grid.resolutions:
            assert grid.tile_size / resolution == pytest.approx(round(grid.tile_size / resolution))
