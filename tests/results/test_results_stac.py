"""Results as STAC: each delivered tile is an item of `batch-<requestId>` on the real local stack, readable with
pystac-client while and after the request runs; a catalog failure never fails the tile."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import numpy as np
import pystac_client
import pytest
import rasterio
from shapely.geometry import shape
from support.batch_requests import all_tiles, make_spec, read_s3_tiff, submit, wait_final, wait_for

from evalbatch.objectstore import S3Credentials, rasterio_env, vsi_path
from evalbatch.settings import Settings
from evalbatch.states import FINAL_STATES, RequestStatus, TileStatus
from evalbatch.store import Store
from ops.services import LocalStack
from workers import results_stac
from workers.results_stac import StacDocumentError, publish_tile, results_collection_id, validate_document
from workers.tiles import process_tile

NDVI_AND_MASK = """//VERSION=3
function setup() {
  return {
    input: ["B04", "B08", "dataMask"],
    output: [{id: "default", bands: 1, sampleType: "FLOAT32"}, {id: "valid", bands: 1, sampleType: "UINT8"}]
  };
}
function evaluatePixel(s) {
  if (!s.dataMask) return {default: [-2], valid: [0]};
  return {default: [(s.B08 - s.B04) / (s.B08 + s.B04)], valid: [1]};
}
"""
OUTPUT_IDS = ("default", "valid")
NODATA_NDVI = -2.0
FINAL = {s.value for s in FINAL_STATES}
POLL_S = 0.3
TIMEOUT_S = 300.0


def ndvi_spec(**extra: Any):
    spec = make_spec(NDVI_AND_MASK, resolution=60.0, **extra)
    spec.responses = [{"identifier": i, "format": {"type": "image/tiff"}} for i in OUTPUT_IDS]
    return spec


def registered_items(stac_url: str, collection_id: str) -> dict[str, Any]:
    """Item id -> pystac Item of a results collection (empty while the collection does not exist yet)."""
    if httpx.get(f"{stac_url}/collections/{collection_id}", timeout=10).status_code == 404:
        return {}
    collection = pystac_client.Client.open(stac_url).get_collection(collection_id)
    return {item.id: item for item in collection.get_items()}


def test_tiles_are_registered_live_and_open_with_rasterio(processing_stack: LocalStack, store: Store) -> None:
    settings = processing_stack.settings
    spec = ndvi_spec()
    request_id = submit(store, spec)
    collection_id = results_collection_id(request_id)
    polls_while_processing = 0
    deadline = time.monotonic() + TIMEOUT_S
    while True:  # while it runs: every PROCESSED tile is already an item (registration comes first)
        record = store.get_request(request_id)
        processed = {t["name"] for t in all_tiles(store, request_id) if t["status"] == TileStatus.PROCESSED}
        items = registered_items(settings.stac_url, collection_id)
        assert processed <= set(items), f"processed tiles without an item: {processed - set(items)}"
        if record["status"] in FINAL:
            break
        polls_while_processing += record["status"] == RequestStatus.PROCESSING
        assert time.monotonic() < deadline, f"request stuck in {record['status']}"
        time.sleep(POLL_S)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    assert polls_while_processing > 0

    tiles = {t["name"]: t for t in all_tiles(store, request_id)}
    items = registered_items(settings.stac_url, collection_id)
    assert set(items) == set(tiles)
    expected_sha = hashlib.sha256(NDVI_AND_MASK.encode()).hexdigest()
    archive = pystac_client.Client.open(settings.stac_url)
    s3 = processing_stack.s3.client()
    for name, item in items.items():
        tile = tiles[name]
        assert tile.get("stacError") is None
        assert shape(item.geometry).equals_exact(shape(tile["geometry"]), 1e-7)
        assert item.bbox == pytest.approx(list(shape(tile["geometry"]).bounds))
        props = item.properties
        assert props["start_datetime"].startswith("2024-05-01T00:00:00")
        assert props["end_datetime"].startswith("2024-05-12T23:59:59")
        assert props["evalbatch:request_id"] == request_id
        assert props["evalbatch:tile_id"] == tile["id"]
        assert props["evalbatch:evalscript_sha256"] == expected_sha
        assert props["evalbatch:version"]
        scenes = props["evalbatch:input_items"]
        assert scenes and scenes == tile["scenes"]
        found = {i.id for i in archive.search(collections=[settings.archive_collection], ids=scenes).items()}
        assert found == set(scenes)
        assert set(item.assets) == set(OUTPUT_IDS)
        validate_document(item.to_dict(include_self_link=False, transform_hrefs=False))
        arrays = {}
        for output_id, asset in item.assets.items():
            assert asset.href == tile["outputs"][output_id] and asset.href.startswith("s3://")
            assert asset.roles == ["data"] and "cloud-optimized" in asset.media_type
            with rasterio_env(S3Credentials.from_settings(settings)), rasterio.open(vsi_path(asset.href)) as dataset:
                assert dataset.crs.to_epsg() == int(props["proj:code"].split(":")[1]) == tile["epsg"]
                assert [dataset.height, dataset.width] == props["proj:shape"]
                assert list(dataset.transform)[:6] == pytest.approx(props["proj:transform"])
                arrays[output_id] = dataset.read(1)
            delivered, _ = read_s3_tiff(s3, asset.href)
            np.testing.assert_array_equal(arrays[output_id], delivered[0])
        valid = arrays["valid"] == 1
        assert valid.any()
        assert np.all(arrays["default"][~valid] == NODATA_NDVI)
        assert np.all(np.abs(arrays["default"][valid]) <= 1.0)

    collection = archive.get_collection(collection_id)
    validate_document(collection.to_dict(include_self_link=False, transform_hrefs=False))
    west, south, east, north = collection.extent.spatial.bboxes[0]
    assert (west, south, east, north) == pytest.approx(spec.bounds["bbox"])


def test_catalog_failure_keeps_the_tile_and_records_the_error(
    processing_stack: LocalStack, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = processing_stack.settings
    request_id = submit(store, ndvi_spec(), user_action="ANALYSE")
    wait_for(store, request_id, {RequestStatus.ANALYSIS_DONE.value})
    assert store.transition(request_id, RequestStatus.PROCESSING, [RequestStatus.ANALYSIS_DONE])
    tile = all_tiles(store, request_id)[0]

    def catalog_down(self: Any, item: Any) -> None:
        raise httpx.ConnectError("STAC API unreachable")

    monkeypatch.setattr(results_stac.ResultsCatalog, "upsert_item", catalog_down)
    process_tile(store, settings, request_id, int(tile["id"]))

    done = store.get_tile(request_id, int(tile["id"]))
    assert done["status"] == TileStatus.PROCESSED
    assert "STAC API unreachable" in done["stacError"]
    delivered, _ = read_s3_tiff(processing_stack.s3.client(), done["outputs"]["default"])
    assert delivered.shape[0] == 1
    assert tile["name"] not in registered_items(settings.stac_url, results_collection_id(request_id))
    store.transition(request_id, RequestStatus.CANCELED, [RequestStatus.PROCESSING])
    wait_final(store, request_id)


def test_publish_reports_an_unreachable_catalog_instead_of_raising() -> None:
    settings = Settings(stac_url="http://127.0.0.1:9")  # discard port: nothing listens
    tile = {"id": 0, "name": "T0", "geometry": {"type": "Polygon", "coordinates": [[[12, 46], [12.1, 46],
            [12.1, 46.1], [12, 46]]]}, "epsg": 32632, "origin": {"type": "Point", "coordinates": [7e5, 5.1e6]},
            "resolution": 60, "widthPx": 4, "heightPx": 4}
    error = publish_tile(settings, "r", ndvi_spec(), tile, {"default": "s3://results/r/T0/default.tif"}, ["a"])
    assert error is not None and "ConnectError" in error
    assert publish_tile(settings, "r", ndvi_spec(), tile, {}, []) is None  # nothing delivered: nothing to do


def test_validation_rejects_broken_documents() -> None:
    tile = {"id": 0, "name": "T0", "geometry": {"type": "Polygon", "coordinates": [[[12, 46], [12.1, 46],
            [12.1, 46.1], [12, 46]]]}, "epsg": 32632, "origin": {"type": "Point", "coordinates": [7e5, 5.1e6]},
            "resolution": 60, "widthPx": 4, "heightPx": 4}
    item = results_stac.item_document("r", ndvi_spec(), tile, {"default": "s3://b/k.tif"}, [], "http://stac")
    validate_document(item)
    without_time = {**item, "properties": {k: v for k, v in item["properties"].items() if k != "datetime"}}
    with pytest.raises(StacDocumentError):
        validate_document(without_time)
    bad_shape = {**item, "properties": {**item["properties"], "proj:shape": [4]}}
    with pytest.raises(StacDocumentError, match="proj:shape"):
        validate_document(bad_shape)
    bad_code = {**item, "properties": {**item["properties"], "proj:code": 32632}}
    with pytest.raises(StacDocumentError, match="proj:code"):
        validate_document(bad_code)
