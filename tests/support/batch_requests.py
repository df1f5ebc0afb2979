"""Helpers of the end-to-end tests: requests written straight into the store (as the API would), waiting for
them, reading their outputs, and the independent reference of the test area."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import httpx
import numpy as np
import pystac_client
from rasterio.io import MemoryFile

from evalbatch.queues import enqueue_analyse
from evalbatch.spec import JobSpec, normalise_tile_path
from evalbatch.states import FINAL_STATES, RequestStatus
from evalbatch.store import Store, utc_now
from support.archive_reference import Layer, layers
from workers.catalog import parse_time

ARCHIVE_BBOX = (11.95, 46.00, 12.05, 46.06)
ARCHIVE_START = dt.date(2024, 5, 1)
ARCHIVE_DAYS = 12
ARCHIVE_SEED = 20240501
AOI_BBOX = [11.96, 46.01, 12.04, 46.05]  # inside the archive, across the 12°E zone boundary
TIME_FROM = "2024-05-01T00:00:00Z"
TIME_TO = "2024-05-12T23:59:59Z"


# Counts the valid dates of every pixel: reads every scene, so a tile runs for a few seconds.
ORBIT_COUNT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "UINT16"}, mosaicking: "ORBIT"};
}
function evaluatePixel(samples) {
  var n = 0;
  for (var i = 0; i < samples.length; i++) { if (samples[i].dataMask) n++; }
  return [n];
}
"""


def make_spec(evalscript: str, *, order: str = "mostRecent", resolution: float = 60.0, api_version: int = 1,
              max_cloud: float | None = None, tile_path: str = "s3://results/tests", **extra: Any) -> JobSpec:
    """A grid-0 request over the archive's zone-crossing AOI."""
    data_filter: dict[str, Any] = {"timeRange": {"from": TIME_FROM, "to": TIME_TO}, "mosaickingOrder": order}
    if max_cloud is not None:
        data_filter["maxCloudCoverage"] = max_cloud
    return JobSpec(
        api_version=api_version, grid_id=0, resolution=resolution, evalscript=evalscript,
        bounds={"bbox": AOI_BBOX, "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        data=[{"type": "sentinel-2-l2a", "dataFilter": data_filter}],
        responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
        tile_path=normalise_tile_path(tile_path), **extra,
    )


def submit(store: Store, spec: JobSpec, user_action: str = "START", api_version: int = 1) -> str:
    """Create an ANALYSING request and queue its analysis (what the API does on start/analyse)."""
    request_id = str(uuid.uuid4())
    store.create_request({
        "id": request_id, "accountId": "test-account", "apiVersion": api_version, "created": utc_now(),
        "status": RequestStatus.ANALYSING.value, "userAction": user_action, "spec": spec.to_dict(),
        "tileCount": 0, "costPU": 0,
    })
    enqueue_analyse(store.redis, request_id)
    return request_id


def put_processing_request(store: Store, request_id: str, tiles: list[dict[str, Any]]) -> None:
    """A v1 request of account "a" in PROCESSING with these tile descriptions, written straight into the store."""
    store.create_request({"id": request_id, "accountId": "a", "apiVersion": 1, "created": utc_now(),
                          "status": RequestStatus.PROCESSING.value, "userAction": "START",
                          "spec": make_spec("//VERSION=3").to_dict(), "tileCount": len(tiles), "costPU": 0})
    store.put_tiles(request_id, tiles)


def wait_for(store: Store, request_id: str, statuses: frozenset | set, timeout_s: float = 240.0) -> dict:
    """Poll until the request reaches one of `statuses`; returns the record."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = store.get_request(request_id)
        if record and record["status"] in statuses:
            return record
        time.sleep(0.5)
    raise AssertionError(f"request {request_id} stuck in {store.get_request(request_id)['status']}: "
                         f"{store.tile_counts(request_id)}")


def wait_final(store: Store, request_id: str, timeout_s: float = 240.0) -> dict:
    """Poll until the request is final."""
    return wait_for(store, request_id, {s.value for s in FINAL_STATES}, timeout_s)


def all_tiles(store: Store, request_id: str) -> list[dict]:
    """Every tile of a request."""
    return store.get_tiles(request_id, list(store.iter_tile_ids(request_id)))


def registered_items(stac_url: str, collection_id: str) -> dict[str, Any]:
    """Item id -> pystac Item of a results collection (empty while the collection does not exist yet)."""
    if httpx.get(f"{stac_url}/collections/{collection_id}", timeout=10).status_code == 404:
        return {}
    collection = pystac_client.Client.open(stac_url).get_collection(collection_id)
    return {item.id: item for item in collection.get_items()}


def read_s3_tiff(s3: Any, url: str) -> tuple[np.ndarray, dict]:
    """(bands, rows, cols) array and profile of a GeoTIFF in S3."""
    bucket, key = url[len("s3://"):].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with MemoryFile(body) as mem, mem.open() as ds:
        return ds.read(), dict(ds.profile)


def to_bytes(array: np.ndarray) -> bytes:
    """A tiny GeoTIFF in memory (for upload tests)."""
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1,
                      dtype=array.dtype) as ds:
            ds.write(array, 1)
        return mem.read()


def archived_layers(stack: Any, tile: dict, bands: tuple[str, ...] = ("B04", "B08")) -> list[Layer]:
    """The test archive's scenes of the test requests' time range, warped onto `tile`."""
    return layers(stack.s3.client(), stack.settings.archive_bucket, tile, list(bands), ARCHIVE_BBOX,
                  ARCHIVE_START, ARCHIVE_DAYS, ARCHIVE_SEED, parse_time(TIME_FROM), parse_time(TIME_TO))
