"""Runs the real v1 client (`sentinelhub` 3.11.1, `SentinelHubBatch`) against evalbatch; prints JSON.

Executed in its own virtualenv by test_api_sentinelhub_v1.py:
`python sentinelhub_v1_client.py <base url> <client id> <client secret> <scenario> [bbox]`.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from sentinelhub import (
    CRS,
    BatchSplitter,
    BatchTileStatus,
    BBox,
    DataCollection,
    MimeType,
    SentinelHubBatch,
    SentinelHubRequest,
    SHConfig,
    monitor_batch_analysis,
    monitor_batch_job,
)
from sentinelhub.exceptions import DownloadFailedException

EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
"""


def make_config(base_url: str, client_id: str, secret: str) -> SHConfig:
    """Both URLs pointed at evalbatch (the Keycloak-style token path, the 3.11 default)."""
    config = SHConfig(use_defaults=True)
    config.sh_client_id = client_id
    config.sh_client_secret = secret
    config.sh_base_url = base_url
    config.sh_token_url = f"{base_url}/auth/realms/main/protocol/openid-connect/token"
    config.max_download_attempts = 1
    return config


def create(batch: SentinelHubBatch, bbox: tuple[float, ...], description: str, grid: dict[str, Any]) -> Any:
    """Create a request over `bbox` with one GeoTIFF output delivered to the results bucket."""
    request = SentinelHubRequest(
        evalscript=EVALSCRIPT,
        input_data=[
            SentinelHubRequest.input_data(
                data_collection=DataCollection.SENTINEL2_L2A, time_interval=("2024-06-01", "2024-06-10")
            )
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox(bbox, crs=CRS.WGS84),
    )
    return batch.create(request, tiling_grid=grid, bucket_name="results", description=description)


def error_text(call: Any) -> str | None:
    """The message of the DownloadFailedException a call raises (None when it succeeds)."""
    try:
        call()
    except DownloadFailedException as exc:
        return str(exc)
    return None


def lifecycle(batch: SentinelHubBatch) -> dict[str, Any]:
    """Everything that works without workers."""
    out: dict[str, Any] = {}
    out["grid_ids"] = [g["id"] for g in batch.iter_tiling_grids()]
    out["grid0"] = batch.get_tiling_grid(0)["name"]
    grid = SentinelHubBatch.tiling_grid(grid_id=3, resolution=0.0002, buffer=(2, 2))
    first = create(batch, (12.2, 41.2, 12.4, 41.4), "v1 client", grid)
    second = create(batch, (12.5, 41.5, 13.5, 42.5), "v1 client two", grid)
    out["created"] = {
        "status": first.status.value,
        "user_action": first.user_action.value if first.user_action else None,
        "tile_count": first.tile_count,
        "second_tile_count": second.tile_count,
        "bbox": list(first.bbox),
        "tiling_grid": first.tiling_grid,
    }
    out["latest"] = batch.get_latest_request().request_id == second.request_id
    out["listed"] = [r.request_id for r in batch.iter_requests()] == [first.request_id, second.request_id]
    batch.update_request(first, description="renamed")
    out["renamed"] = batch.get_request(first).description
    out["tiles_before_analysis"] = list(batch.iter_tiles(first))
    out["restart_error"] = error_text(lambda: batch.restart_job(first))
    batch.start_analysis(first)
    out["after_analyse"] = batch.get_request(first).status.value
    batch.cancel_job(first)
    canceled = batch.get_request(first)
    out["after_cancel"] = [canceled.status.value, canceled.user_action.value]
    batch.delete_request(first)
    out["get_deleted_error"] = error_text(lambda: batch.get_request(first))
    batch.delete_request(second)
    out["remaining"] = [r.request_id for r in batch.iter_requests()]
    return out


def wait_for(batch: SentinelHubBatch, request: Any, statuses: set[str], timeout_s: float = 600) -> Any:
    """Poll until the request's status is one of `statuses`."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = batch.get_request(request)
        if current.status.value in statuses or time.monotonic() > deadline:
            return current
        time.sleep(1)


def processing(batch: SentinelHubBatch, bbox: tuple[float, ...]) -> dict[str, Any]:
    """With workers: analysis, tiles, BatchSplitter, processing to DONE, monitor_batch_job."""
    out: dict[str, Any] = {}
    grid = SentinelHubBatch.tiling_grid(grid_id=1, resolution=20.0, buffer=(1, 1))
    request = create(batch, bbox, "v1 client e2e", grid)
    batch.start_analysis(request)
    analysed = monitor_batch_analysis(request, config=batch.config, sleep_time=5)
    out["analysed"] = {"status": analysed.status.value, "tile_count": analysed.tile_count,
                       "value_estimate": analysed.value_estimate}
    tiles = list(batch.iter_tiles(request))
    out["tiles"] = [{"id": t["id"], "status": t["status"], "name": t.get("name")} for t in tiles]
    out["pending"] = len(list(batch.iter_tiles(request, status=BatchTileStatus.PENDING)))
    out["one_tile"] = batch.get_tile(request, tiles[0]["id"])["id"]
    splitter = BatchSplitter(batch_request=batch.get_request(request), config=batch.config)
    out["splitter_bboxes"] = len(splitter.get_bbox_list())
    batch.start_job(request)
    done = wait_for(batch, request, {"DONE", "PARTIAL", "FAILED"})
    out["final"] = done.status.value
    counts = monitor_batch_job(request, config=batch.config, sleep_time=60)
    out["monitor"] = {status.value: len(tiles) for status, tiles in counts.items()}
    out["request_id"] = request.request_id
    return out


SCENARIOS = {"lifecycle": lifecycle}


def main() -> None:
    """Run one scenario and print its JSON summary."""
    base_url, client_id, secret, scenario, *args = sys.argv[1:]
    batch = SentinelHubBatch(config=make_config(base_url, client_id, secret))
    if scenario == "processing":
        result = processing(batch, tuple(float(v) for v in args[0].split(",")))
    else:
        result = SCENARIOS[scenario](batch)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
