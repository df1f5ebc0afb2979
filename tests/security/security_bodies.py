"""Create bodies of the security tests: small real AOIs on grid 3 (1° cells) delivered to the results bucket."""

from __future__ import annotations

import copy
from typing import Any

from security_support import RESULTS_BUCKET

EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(s) { return [(s.B08 - s.B04) / (s.B08 + s.B04)]; }
"""
GRID_ID, RESOLUTION = 3, 0.0002
FOUR_CELL_BBOX = [12.5, 41.5, 13.5, 42.5]  # meets the 1° cells N41E012, N41E013, N42E012, N42E013


def process_request(bbox: list[float] | None = None) -> dict[str, Any]:
    """A Process API payload over `bbox` (CRS84)."""
    return {
        "input": {
            "bounds": {"bbox": bbox or FOUR_CELL_BBOX},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}},
                }
            ],
        },
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
    }


def v1_body(**extra: Any) -> dict[str, Any]:
    """A v1 create body writing below `s3://results/`."""
    return {
        "processRequest": process_request(),
        "tilingGrid": {"id": GRID_ID, "resolution": RESOLUTION},
        "output": {"defaultTilePath": f"s3://{RESULTS_BUCKET}/v1/<requestId>/<tileName>/<outputId>.<format>"},
        "description": "security v1",
        **extra,
    }


def v2_body(access_key: str | None = None, secret_key: str | None = None, **extra: Any) -> dict[str, Any]:
    """A v2 create body delivering below `s3://results/v2/`, with delivery keys when given."""
    s3: dict[str, Any] = {"url": f"s3://{RESULTS_BUCKET}/v2/<tileName>/<outputId>.<format>"}
    if access_key is not None:
        s3.update(accessKey=access_key, secretAccessKey=secret_key)
    return {
        "processRequest": process_request(),
        "input": {"type": "tiling-grid", "id": GRID_ID, "resolution": RESOLUTION},
        "output": {"type": "raster", "delivery": {"s3": s3}},
        "description": "security v2",
        **extra,
    }


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with the dotted `path` (list indexes as numbers) set to `value`."""
    result = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = result
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return result
