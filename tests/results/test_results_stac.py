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
from support.batch_requests import (
    all_tiles,
    make_spec,
    read_s3_tiff,
    registered_items,
    submit,
    wait_final,
    wait_for,
)

from evalbatch.objectstore import S3Credentials, rasterio_env, vsi_path
from evalbatch.settings import Settings
from evalbatch.states import FINAL_STATES, RequestStatus, TileStatus
from evalbatch.store import Store
from ops.services import LocalStack
from tiler import parse_bounds, tiles_for_aoi
from workers import results_stac
from workers.analysis import TileScenes, tile_record
from workers.results_stac import (
    DeliveredTile,
    StacDocumentError,
    publish_tiles,
    results_collection_id,
    validate_document,
)
from workers.stac_projection import PROJECTION_V1_2, PROJECTION_V2_0
from workers.tiles import process_tiles

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
TILE_BUFFER_PX = 3
TIMEOUT_S = 300.0


def ndvi_spec(**extra: Any):
    spec = make_spec(NDVI_AND_MASK, resolution=60.0, **extra)
    spec.responses = [{"identifier": i, "format": {"type": "image/tiff"}} for i in OUTPUT_IDS]
    return spec


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
        validate_document(item.to_dict(include_self_link=False, transform_hrefs=False))  # as pystac migrated it
        stored = httpx.get(f"{settings.stac_url}/collections/{collection_id}/items/{name}", timeout=10).json()
        validate_document(stored)  # as the catalog serves it: projection v1.2.0 with the deprecated proj:epsg
        assert stored["stac_extensions"] == [results_stac.PROJECTION_EXTENSION]
        assert stored["properties"]["proj:epsg"] == tile["epsg"]
        arrays = {}
        for output_id, asset in item.assets.items():
            assert asset.href == tile["outputs"][output_id] and asset.href.startswith("s3://")
            assert asset.roles == ["data"] and "cloud-optimized" in asset.media_type
            with rasterio_env(S3Credentials.from_settings(settings)), rasterio.open(vsi_path(asset.href)) as dataset:
                assert dataset.crs.to_epsg() == int(props["proj:code"].split(":")[1]) == tile["epsg"]
                assert [dataset.height, dataset.width] == props["proj:shape"]
                assert list(dataset.transform)[:6] == pytest.approx(props["proj:transform"])
                assert list(dataset.bounds) == pytest.approx(props["proj:bbox"])
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

    def catalog_down(self: Any, collection_id: str, items: Any) -> None:
        raise httpx.ConnectError("STAC API unreachable")

    monkeypatch.setattr(results_stac.ResultsCatalog, "upsert_items", catalog_down)
    process_tiles(store, settings, request_id, [int(tile["id"])])

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
    tile = analysed_tile()
    delivered = DeliveredTile(tile, {"default": "s3://results/r/T0/default.tif"}, ["a"])
    error = publish_tiles(settings, "r", ndvi_spec(), [delivered])[delivered.tile_id]
    assert error is not None and "ConnectError" in error
    nothing = DeliveredTile(tile, {}, [])
    assert publish_tiles(settings, "r", ndvi_spec(), [nothing]) == {nothing.tile_id: None}  # nothing to register


# --- the projection extension's rules, offline ------------------------------------------------------------


def analysed_tile(index: int = 0) -> dict[str, Any]:
    """A tile as the analysis stores it: grid 0 at 60 m with a 3-pixel buffer over the test AOI."""
    tiles = tiles_for_aoi(parse_bounds(ndvi_spec().bounds), 0, 60.0, buffer_x=TILE_BUFFER_PX, buffer_y=TILE_BUFFER_PX)
    return tile_record(tiles[index], "r", 0.0, TileScenes(0, 0))


def tile_item(tile: dict[str, Any] | None = None) -> dict[str, Any]:
    """The results item of a tile (the first tile of the AOI by default)."""
    return results_stac.item_document("r", ndvi_spec(), tile or analysed_tile(), {"default": "s3://b/k.tif"}, [],
                                      "http://stac")


def with_properties(item: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The item with properties changed; keyword `proj_x` stands for `proj:x`, None removes the property."""
    properties = dict(item["properties"])
    for name, value in changes.items():
        key = name.replace("proj_", "proj:", 1)
        if value is None:
            properties.pop(key, None)
        else:
            properties[key] = value
    return {**item, "properties": properties}


def shifted_grid(item: dict[str, Any], pixels: int) -> dict[str, Any]:
    """The item with proj:transform and proj:bbox consistently moved `pixels` pixels east."""
    props = item["properties"]
    dx = pixels * props["proj:transform"][0]
    transform = list(props["proj:transform"])
    transform[2] += dx
    west, south, east, north = props["proj:bbox"]
    return with_properties(item, proj_transform=transform, proj_bbox=[west + dx, south, east + dx, north])


def other_zone(item: dict[str, Any]) -> dict[str, Any]:
    """The item claiming the neighbouring UTM zone's CRS for the same numbers."""
    epsg = item["properties"]["proj:epsg"] + 1
    return with_properties(item, proj_code=f"EPSG:{epsg}", proj_epsg=epsg)


def with_extensions(item: dict[str, Any], extensions: list[str]) -> dict[str, Any]:
    return {**item, "stac_extensions": extensions}


def with_asset_fields(item: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The item whose `default` asset carries projection fields (`proj_x` stands for `proj:x`)."""
    asset = {**item["assets"]["default"], **{k.replace("proj_", "proj:", 1): v for k, v in fields.items()}}
    return {**item, "assets": {**item["assets"], "default": asset}}


def test_results_items_follow_the_projection_extension() -> None:
    for index in (0, -1):  # the first and last tiles of the AOI: one in each UTM zone
        tile = analysed_tile(index)
        item = tile_item(tile)
        props = item["properties"]
        assert item["stac_extensions"] == [results_stac.PROJECTION_EXTENSION] == [PROJECTION_V1_2]
        assert props["proj:code"] == f"EPSG:{tile['epsg']}" and props["proj:epsg"] == tile["epsg"]
        size = tile["widthPx"] + 2 * TILE_BUFFER_PX
        assert props["proj:shape"] == [tile["heightPx"] + 2 * TILE_BUFFER_PX, size]
        x0, y0 = tile["origin"]["coordinates"]
        margin = TILE_BUFFER_PX * 60.0
        assert props["proj:transform"] == [60.0, 0.0, x0 - margin, 0.0, -60.0, y0 + margin]
        assert props["proj:bbox"] == pytest.approx([x0 - margin, y0 + margin - 60.0 * size, x0 - margin + 60.0 * size,
                                                    y0 + margin])
        validate_document(item)
    assert {analysed_tile(0)["epsg"], analysed_tile(-1)["epsg"]} == {32632, 32633}


ITEM = tile_item()
PROPS = ITEM["properties"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param(with_properties(ITEM, datetime=None), "datetime", id="core-schema"),
        pytest.param(with_extensions(ITEM, []), "without the projection extension", id="undeclared"),
        pytest.param(with_extensions(ITEM, [PROJECTION_V2_0]), r"\['proj:epsg'\] are not fields", id="epsg-in-v2"),
        pytest.param(with_properties(ITEM, proj_foo=1), r"\['proj:foo'\] are not fields", id="unknown-field"),
        pytest.param(with_properties(ITEM, proj_code=32632), "proj:code must be", id="code-number"),
        pytest.param(with_properties(ITEM, proj_code="EPSG:999999"), "not a CRS known to PROJ", id="code-unknown"),
        pytest.param(with_properties(ITEM, proj_epsg="32632"), "proj:epsg must be", id="epsg-string"),
        pytest.param(with_properties(ITEM, proj_epsg=PROPS["proj:epsg"] + 1), "different CRSs", id="epsg-vs-code"),
        pytest.param(with_properties(ITEM, proj_wkt2=5), "proj:wkt2 must be", id="wkt2-number"),
        pytest.param(with_properties(ITEM, proj_projjson="{}"), "proj:projjson must be", id="projjson-string"),
        pytest.param(with_properties(ITEM, proj_geometry={"type": "Polygon"}), "proj:geometry", id="geometry"),
        pytest.param(with_properties(ITEM, proj_centroid={"lat": 95, "lon": 12}), "proj:centroid", id="centroid"),
        pytest.param(with_properties(ITEM, proj_shape=[4]), "proj:shape", id="shape-length"),
        pytest.param(with_properties(ITEM, proj_shape=[float(PROPS["proj:shape"][0]), PROPS["proj:shape"][1]]),
                     "proj:shape", id="shape-float"),
        pytest.param(with_properties(ITEM, proj_shape=[0, PROPS["proj:shape"][1]]), "proj:shape", id="shape-zero"),
        pytest.param(with_properties(ITEM, proj_transform=[*PROPS["proj:transform"], 1]), "6 or 9 numbers",
                     id="transform-length"),
        pytest.param(with_properties(ITEM, proj_transform=[*PROPS["proj:transform"], 0, 0, 2]), "end with 0, 0, 1",
                     id="transform-last-row"),
        pytest.param(with_properties(ITEM, proj_transform=[0, 0, 1, 0, 0, 1]), "not invertible",
                     id="transform-singular"),
        pytest.param(with_properties(ITEM, proj_bbox=PROPS["proj:bbox"] + [1]), "4 or 6 numbers", id="bbox-length"),
        pytest.param(with_properties(ITEM, proj_bbox=PROPS["proj:bbox"][2:] + PROPS["proj:bbox"][:2]),
                     "minimums first", id="bbox-order"),
        pytest.param(with_properties(ITEM, proj_bbox=[v + 60.0 for v in PROPS["proj:bbox"]]),
                     "is not the extent", id="bbox-off-grid"),
        pytest.param(with_properties(ITEM, proj_shape=[PROPS["proj:shape"][0], PROPS["proj:shape"][1] - 1]),
                     "is not the extent", id="shape-off-bbox"),
        pytest.param(shifted_grid(ITEM, 10), "does not contain the item's geometry", id="grid-off-item"),
        pytest.param(other_zone(ITEM), "does not contain the item's geometry", id="other-crs"),
        pytest.param(with_asset_fields(ITEM, proj_shape=[1]), "assets.default: proj:shape", id="asset-shape"),
        pytest.param(with_asset_fields(ITEM, proj_transform=[120.0, 0, PROPS["proj:transform"][2], 0, -120.0,
                                                             PROPS["proj:transform"][5]]),
                     "assets.default: proj:bbox .* is not the extent", id="asset-transform-vs-item-shape"),
    ],
)
def test_validation_rejects_documents_breaking_a_rule(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(StacDocumentError, match=reason):
        validate_document(document)


def test_validation_accepts_what_the_extension_allows() -> None:
    rows, cols = PROPS["proj:shape"]
    transform = PROPS["proj:transform"]
    overview = [2 * transform[0], 0.0, transform[2], 0.0, 2 * transform[4], transform[5]]
    accepted = [
        with_properties(with_extensions(ITEM, [PROJECTION_V2_0]), proj_epsg=None),  # v2: proj:code only
        with_properties(ITEM, proj_code=None, proj_epsg=None),  # no CRS code: nothing to project the item into
        with_properties(ITEM, proj_transform=[*transform, 0, 0, 1], proj_bbox=[*PROPS["proj:bbox"][:2], 0.0,
                        *PROPS["proj:bbox"][2:], 100.0]),  # 3x3 transform, 3D bbox
        with_asset_fields(ITEM, proj_transform=overview, proj_shape=[rows // 2, cols // 2]),  # a half-size asset
        with_properties(ITEM, proj_centroid={"lat": 46.0, "lon": 12.0}, proj_wkt2=None, proj_projjson=None),
    ]
    for document in accepted:
        validate_document(document)
