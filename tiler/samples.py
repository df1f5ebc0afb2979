"""Sample AOIs shipped with the package (benchmarks, tests, demos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
CONUS_PATH = DATA_DIR / "conus.geojson"


def conus_bounds() -> dict[str, Any]:
    """``input.bounds`` of a simplified contiguous-US outline (about 8.2 million km², CRS84)."""
    feature = json.loads(CONUS_PATH.read_text())
    return {
        "geometry": feature["geometry"],
        "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
    }
