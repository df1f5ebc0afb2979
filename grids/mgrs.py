"""MGRS letters: latitude bands and 100 km square identifiers (WGS84, "AA" lettering scheme).

Implemented from the MGRS definition: column letters cycle through three sets of eight letters by
zone, row letters cycle through twenty letters, starting at F in even zones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Latitude band letters from 80°S northwards, 8° each (X spans 72°N-84°N).
BAND_LETTERS = "CDEFGHJKLMNPQRSTUVWX"
#: The 24 column letters (A-Z without I and O); zone set k uses letters [8k, 8k+8).
COLUMN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
#: The 20 row letters (A-V without I and O).
ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
SQUARE_SIZE_M = 100_000
_EVEN_ZONE_ROW_OFFSET = 5
_BAND_HEIGHT_DEG = 8.0
_BAND_SOUTH_DEG = -80.0


def band_indices(latitudes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into BAND_LETTERS for each latitude; clipped to C below 80°S and X above 72°N (ours)."""
    lat = np.asarray(latitudes, dtype=float)
    index = np.floor((lat - _BAND_SOUTH_DEG) / _BAND_HEIGHT_DEG).astype(np.int64)
    return np.clip(index, 0, len(BAND_LETTERS) - 1)


def band_letter(latitude: float) -> str:
    """MGRS latitude band letter of ``latitude`` (degrees)."""
    return BAND_LETTERS[int(band_indices(latitude))]


def column_letter(zone: int, easting_index: int) -> str:
    """Column letter of the 100 km square whose west edge is ``easting_index`` × 100 km (1-8)."""
    if not 1 <= easting_index <= 8:
        raise ValueError(f"easting index {easting_index} outside 1..8")
    zone_set = (zone - 1) % 3
    return COLUMN_LETTERS[zone_set * 8 + easting_index - 1]


def row_letter(zone: int, northing_index: int) -> str:
    """Row letter of the 100 km square whose south edge is ``northing_index`` × 100 km.

    Southern-hemisphere northings include the 10,000 km false northing.
    """
    offset = _EVEN_ZONE_ROW_OFFSET if zone % 2 == 0 else 0
    return ROW_LETTERS[(northing_index + offset) % len(ROW_LETTERS)]


def square_letters(zone: int, easting_index: int, northing_index: int) -> str:
    """The two-letter 100 km square identifier, e.g. ``"WM"``."""
    return column_letter(zone, easting_index) + row_letter(zone, northing_index)
