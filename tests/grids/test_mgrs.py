"""MGRS letters against known Sentinel-2 tile names (the tile name is the MGRS 100 km square)."""

import math

import pytest
from pyproj import Transformer

from grids.mgrs import band_letter, column_letter, row_letter, square_letters
from grids.utm import utm_epsg, zone_longitudes, zones_for_longitudes

# (place, lon, lat, Sentinel-2 tile that contains it)
KNOWN_TILES = [
    ("Paris", 2.3522, 48.8566, "31UDQ"),
    ("Amsterdam", 4.9041, 52.3676, "31UFU"),
    ("Rome", 12.4964, 41.9028, "33TTG"),
    ("Munich", 11.5820, 48.1351, "32UPU"),
    ("Nairobi", 36.8219, -1.2921, "37MBU"),
    ("Cape Town", 18.4241, -33.9249, "34HBH"),
]


def _mgrs_square_of(lon, lat):
    zone = math.floor((lon + 180) / 6) + 1
    epsg = utm_epsg(zone, lat >= 0)
    easting, northing = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return zone, int(easting // 100_000), int(northing // 100_000)


@pytest.mark.parametrize(("place", "lon", "lat", "tile"), KNOWN_TILES)
def test_square_letters_of_known_sentinel2_tiles(place, lon, lat, tile):
    zone, easting_index, northing_index = _mgrs_square_of(lon, lat)
    name = f"{zone:02d}{band_letter(lat)}{square_letters(zone, easting_index, northing_index)}"
    assert name == tile, place


def test_spec_examples_squares():
    # 33TWM spans E 500000-600000, N 5100000-5200000; 31UDS spans E 400000-500000, N 5600000-5700000
    assert square_letters(33, 5, 51) == "WM"
    assert square_letters(31, 4, 56) == "DS"
    # 32TQR: zone 32, west edge 700 km, south edge 5000 km (even zone: row letters offset by 5)
    assert square_letters(32, 7, 50) == "QR"


def test_column_letters_cycle_over_three_zone_sets():
    assert [column_letter(1, i) for i in range(1, 9)] == list("ABCDEFGH")
    assert [column_letter(2, i) for i in range(1, 9)] == list("JKLMNPQR")
    assert [column_letter(3, i) for i in range(1, 9)] == list("STUVWXYZ")
    assert column_letter(4, 1) == "A"


def test_row_letters_skip_i_and_o_and_wrap_after_v():
    letters = "".join(row_letter(1, i) for i in range(21))
    assert letters == "ABCDEFGHJKLMNPQRSTUVA"
    assert row_letter(2, 0) == "F"


@pytest.mark.parametrize(("lat", "letter"), [(-80.0, "C"), (-0.1, "M"), (0.0, "N"), (46.9, "T"),
                                             (52.0, "U"), (71.9, "W"), (72.0, "X"), (84.0, "X")])
def test_band_letters(lat, letter):
    assert band_letter(lat) == letter


def test_zone_strips():
    assert zone_longitudes(1) == (-180.0, -174.0)
    assert zone_longitudes(33) == (12.0, 18.0)
    assert list(zones_for_longitudes(11.5, 12.5)) == [32, 33]
    assert list(zones_for_longitudes(-180.0, 180.0)) == list(range(1, 61))
    with pytest.raises(ValueError):
        zone_longitudes(61)
