"""Tile names of every grid kind (grids-and-cost.md §2.3-2.5)."""

from __future__ import annotations


def utm_tile_name(zone: int, band: str, square: str, col: int, row: int) -> str:
    """``<zone><band><square>_<col>_<row>``, e.g. ``33TWM_1_0`` (see grids.mgrs for the letters)."""
    return f"{zone:02d}{band}{square}_{col}_{row}"


def wgs84_tile_name(lon_ll: int, lat_ll: int) -> str:
    """``<N|S><lat:02><E|W><lon:03>`` of the lower-left corner, e.g. ``S07E035``."""
    ns = "N" if lat_ll >= 0 else "S"
    ew = "E" if lon_ll >= 0 else "W"
    return f"{ns}{abs(lat_ll):02d}{ew}{abs(lon_ll):03d}"


def laea_tile_name(x_index: int, y_index: int, digits: int) -> str:
    """EEA-reference-grid style name ``E<x>N<y>`` of the lower-left cell index, e.g. ``E40N20``."""
    return f"E{x_index:0{digits}d}N{y_index:0{digits}d}"


#: Zero-padding of LAEA names per grid id (ours).
LAEA_NAME_DIGITS = {6: 2, 7: 3}
