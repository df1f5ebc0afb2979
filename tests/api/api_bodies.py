"""Create bodies used by the API tests (real AOIs whose tile counts follow from the grid definitions)."""

from __future__ import annotations

import copy
from typing import Any

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
# Inside the single 1° cell N41E012 of grid 3 (lat 41..42, lon 12..13).
ONE_CELL_BBOX = [12.2, 41.2, 12.4, 41.4]
# Straddles lon 13 and lat 42: meets the four 1° cells N41E012, N41E013, N42E012, N42E013.
FOUR_CELL_BBOX = [12.5, 41.5, 13.5, 42.5]


def process_request(bbox: list[float] | None = None, **extra: Any) -> dict[str, Any]:
    """A Process API payload over `bbox`."""
    return {
        "input": {
            "bounds": {"bbox": bbox or ONE_CELL_BBOX, "properties": {"crs": EPSG4326}},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {
                        "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"},
                        "maxCloudCoverage": 40,
                    },
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
        **extra,
    }


def v1_body(bbox: list[float] | None = None, **extra: Any) -> dict[str, Any]:
    """A v1 create body on grid 3 at 0.0002°."""
    return {
        "processRequest": process_request(bbox),
        "tilingGrid": {"id": 3, "resolution": 0.0002},
        "bucketName": "results",
        "description": "ndvi test",
        **extra,
    }


def v2_body(bbox: list[float] | None = None, **extra: Any) -> dict[str, Any]:
    """A v2 create body on grid 3 at 0.0002°, delivered to the moto results bucket with keys."""
    return {
        "processRequest": process_request(bbox),
        "input": {"type": "tiling-grid", "id": 3, "resolution": 0.0002},
        "output": {
            "type": "raster",
            "delivery": {
                "s3": {
                    "url": "s3://results/v2/<tileName>/<outputId>.<format>",
                    "accessKey": "testing-key",
                    "secretAccessKey": "testing-secret",
                }
            },
            "cogOutput": True,
        },
        "instanceType": "normal",
        "description": "ndvi test v2",
        **extra,
    }


def changed(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with the dotted `path` set to `value` (deleted when value is ...)."""
    result = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return result
