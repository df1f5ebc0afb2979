"""List every tile of a country-sized request page by page through the API (issue 4: under 10 s for ~80,000).

Starts Redis and the API on free ports (as `evalbatch up` does), creates a v1 request over the bundled
contiguous-US outline on grid 1 through the API, stores its tiles as the analysis would (the tiler's tiles),
then pages through `GET .../tiles?count=100` following `links.nextToken`. The baseline, in the same process,
reads the same pages straight from the store; the ratio shows what HTTP, auth and JSON add.
"""

from __future__ import annotations

import argparse
import sys
import time

import httpx
from api_load import create_request, running_api

GRID_ID = 1
RESOLUTION = 10.0
PAGE = 100


def list_through_api(base_url: str, headers: dict[str, str], request_id: str) -> int:
    """Every tile through the API, page by page; returns the number of tiles seen."""
    seen = 0
    params: dict[str, object] = {"count": PAGE}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        while True:
            page = http.get(f"/api/v1/batch/process/{request_id}/tiles", params=params).json()
            seen += len(page["data"])
            token = page["links"].get("nextToken")
            if not token or not page["data"]:
                return seen
            params["viewtoken"] = token


def list_from_store(store, request_id: str) -> int:
    """Every tile straight from the store, in pages of the same size (the baseline)."""
    seen, after = 0, None
    while True:
        ids = store.tile_ids(request_id, after=after, count=PAGE)
        seen += len(store.get_tiles(request_id, ids))
        if len(ids) < PAGE:
            return seen
        after = ids[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the outline (make bench)")
    args = parser.parse_args()

    from evalbatch.store import Store
    from tiler import parse_bounds, tiles_for_aoi
    from tiler.samples import conus_bounds

    bounds = conus_bounds()
    if args.quick:
        bounds = {"bbox": [-105.0, 35.0, -95.0, 42.0]}
    with running_api("list-bench") as api:
        start = time.perf_counter()
        request_id = create_request(api.url, api.headers, bounds, GRID_ID, RESOLUTION)
        create_s = time.perf_counter() - start

        store = Store(api.redis)
        start = time.perf_counter()
        tiles = tiles_for_aoi(parse_bounds(bounds), GRID_ID, RESOLUTION)
        store.put_tiles(request_id, (
            {"id": t.id, "name": t.name, "requestId": request_id, "origin": t.origin_geojson(),
             "geometry": t.footprint_geojson(), "cost": 0.0} for t in tiles))  # fmt: skip
        store_s = time.perf_counter() - start

        start = time.perf_counter()
        baseline_count = list_from_store(store, request_id)
        baseline_s = time.perf_counter() - start
        start = time.perf_counter()
        api_count = list_through_api(api.url, api.headers, request_id)
        api_s = time.perf_counter() - start
    assert api_count == baseline_count == len(tiles), (api_count, baseline_count, len(tiles))
    print(f"tile listing: {len(tiles)} tiles on grid {GRID_ID}, pages of {PAGE}")
    print(f"  create through the API (tiles counted)   {create_s:7.2f} s")
    print(f"  tile and store all tiles (as analysis)   {store_s:7.2f} s")
    print(f"  list from the store (baseline)           {baseline_s:7.2f} s  {len(tiles) / baseline_s:9.0f} tiles/s")
    print(f"  list through the API                     {api_s:7.2f} s  {len(tiles) / api_s:9.0f} tiles/s")
    print(f"  API / store ratio x{api_s / baseline_s:.2f}   (target: whole listing under 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
