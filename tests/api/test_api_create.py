"""Create (v1 and v2): what is stored and echoed, accepted spellings, and every rejected input."""

from __future__ import annotations

import json

import pytest
import redis
from api_bodies import EPSG4326, FOUR_CELL_BBOX, ONE_CELL_BBOX, changed, v1_body, v2_body
from api_support import RESULTS_BUCKET
from fastapi.testclient import TestClient
from support.api_accounts import Account, moto_s3

from evalbatch.spec import JobSpec
from evalbatch.store import Store

V1 = "/api/v1/batch/process"
V2 = "/api/v2/batch/process"
SECRET = "testing-secret"


def _stored_keys(redis_conn: redis.Redis) -> list[bytes]:
    """Every request-related key in Redis (accounts/clients excluded)."""
    return [k for k in redis_conn.keys("eb:*") if not k.startswith(b"eb:client:")]


def test_v1_create_counts_tiles_and_echoes_with_defaults(client: TestClient, alice: Account) -> None:
    body = v1_body(FOUR_CELL_BBOX)
    del body["processRequest"]["input"]["bounds"]["properties"]
    response = client.post(V1, json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "CREATED" and created["userAction"] == "NONE"
    assert created["tileCount"] == 4  # the bbox meets four 1° cells
    assert created["tileWidthPx"] == created["tileHeightPx"] == 5000  # 1° / 0.0002°
    assert created["tilingGrid"] == {"id": 3, "resolution": 0.0002, "bufferX": 0, "bufferY": 0}
    crs = created["processRequest"]["input"]["bounds"]["properties"]["crs"]
    assert crs == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert created["valueEstimate"] is None
    assert created["bucketName"] == "results"
    # read-after-write
    again = client.get(f"{V1}/{created['id']}", headers=alice.headers).json()
    assert again == created


def test_v1_create_stores_a_job_spec(client: TestClient, alice: Account) -> None:
    body = v1_body(ONE_CELL_BBOX, tilingGrid={"id": 3, "resolution": 0.0002, "bufferX": 5, "bufferY": 2})
    body["processRequest"]["input"]["data"][0]["processing"] = {
        "temporalInterpolation": {"step": "P5D", "method": "nearest"}
    }
    body["maxProcessingUnits"] = 250
    created = client.post(V1, json=body, headers=alice.headers).json()
    record = Store(client.app.state.redis).get_request(created["id"])
    spec = JobSpec.from_dict(record["spec"])
    assert (spec.grid_id, spec.resolution, spec.buffer_x, spec.buffer_y) == (3, 0.0002, 5, 2)
    assert spec.output_path("default", created["id"], "N41E012", 9) == (
        f"s3://results/{created['id']}/N41E012/default.tiff"
    )
    assert spec.cog_parameters["blockxsize"] == 1024
    assert spec.max_processing_units == 250
    assert spec.data[0]["processing"]["temporalInterpolation"] == {"step": "P5D", "method": "nearest"}
    assert spec.bounds["properties"]["crs"] == EPSG4326


def test_v1_grid_id_zero_and_deprecated_aliases(client: TestClient, alice: Account) -> None:
    body = v1_body([15.3, 46.8, 15.35, 46.85])
    del body["tilingGrid"]
    body.update(tilingGridId=0, resolution=60.0)
    response = client.post(V1, json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    grid = response.json()["tilingGrid"]
    assert grid == {"id": 0, "resolution": 60.0, "bufferX": 0, "bufferY": 0}
    assert response.json()["tileWidthPx"] == 334  # 20040 m / 60 m


def test_v1_templates_and_per_output_paths(client: TestClient, alice: Account) -> None:
    body = v1_body(bucketName=None)
    del body["bucketName"]
    body["processRequest"]["output"]["responses"].append(
        {"identifier": "userdata", "format": {"type": "application/json"}}
    )
    body["output"] = {
        "defaultTilePath": "s3://results/out/<tileId>/<outputId>.<format>",
        "responses": [{"identifier": "userdata", "tilePath": "s3://results/meta/<tileName>.json"}],
    }
    created = client.post(V1, json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    spec = JobSpec.from_dict(Store(client.app.state.redis).get_request(created.json()["id"])["spec"])
    assert spec.output_path("default", "r", "N41E012", 12) == "s3://results/out/12/default.tiff"
    assert spec.output_path("userdata", "r", "N41E012", 12) == "s3://results/meta/N41E012.json"


def test_v1_multipart_create(client: TestClient, alice: Account) -> None:
    body = v1_body()
    script = body["processRequest"].pop("evalscript")
    response = client.post(
        V1, files={"request": (None, json.dumps(body)), "evalscript": (None, script)}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["processRequest"]["evalscript"] == script


def test_v2_create_uploads_a_secret_free_copy(client: TestClient, alice: Account, settings) -> None:
    body = v2_body(FOUR_CELL_BBOX)
    body["instance_type"] = body.pop("instanceType")  # sentinelhub 3.11.0-3.11.2 spelling
    body["output"]["delivery"]["s3"]["region"] = None  # null == absent
    response = client.post(V2, json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["status"] == "CREATED" and task["userAction"] == "NONE"
    assert task["completionPercentage"] == 0 and task["costPU"] == 0
    assert task["domainAccountId"] == alice.account_id
    assert task["request"]["instanceType"] == "normal"
    assert "region" not in task["request"]["output"]["delivery"]["s3"]
    obj = moto_s3(settings.s3_endpoint_url).get_object(Bucket=RESULTS_BUCKET, Key=f"v2/request-{task['id']}.json")
    copy = obj["Body"].read().decode()
    assert SECRET not in copy and "testing-key" not in copy
    assert json.loads(copy)["processRequest"]["input"]["bounds"]["bbox"] == FOUR_CELL_BBOX
    store = Store(client.app.state.redis)
    assert store.get_secrets(task["id"]) == {"s3": {"accessKey": "testing-key", "secretAccessKey": SECRET}}
    spec = JobSpec.from_dict(store.get_request(task["id"])["spec"])
    assert spec.delivery_root == "s3://results/v2/"
    assert spec.cog_parameters["blockxsize"] == 256
    assert store.get_request(task["id"])["tileCount"] == 4


def test_secrets_are_never_echoed(client: TestClient, alice: Account) -> None:
    task = client.post(V2, json=v2_body(), headers=alice.headers).json()
    responses = [
        client.get(f"{V2}/{task['id']}", headers=alice.headers),
        client.get(V2, headers=alice.headers),
        client.put(f"{V2}/{task['id']}", json={"description": "renamed"}, headers=alice.headers),
    ]
    for text in [json.dumps(task)] + [r.text for r in responses]:
        assert SECRET not in text
        assert "accessKey" not in text and "secretAccessKey" not in text


def _bad_v1_inputs() -> list[tuple[str, dict | bytes, str]]:
    body = v1_body()
    return [
        ("unknown grid id", changed(body, "tilingGrid.id", 4), "tilingGrid.id"),
        ("resolution not allowed", changed(body, "tilingGrid.resolution", 15.0), "tilingGrid.resolution"),
        ("negative buffer", changed(body, "tilingGrid.bufferX", -1), "tilingGrid.bufferX"),
        ("missing grid", changed(body, "tilingGrid", ...), "tilingGrid"),
        ("missing evalscript", changed(body, "processRequest.evalscript", ...), "processRequest.evalscript"),
        ("null evalscript", changed(body, "processRequest.evalscript", None), "processRequest.evalscript"),
        ("wrong type", changed(body, "tilingGrid.id", "zero"), "tilingGrid.id"),
        ("bbox wrong type", changed(body, "processRequest.input.bounds.bbox", "12,41,13,42"),
         "processRequest.input.bounds.bbox"),
        ("bad CRS", changed(body, "processRequest.input.bounds.properties.crs", "EPSG:nope"),
         "processRequest.input.bounds.properties.crs"),
        ("timeRange from > to",
         changed(body, "processRequest.input.data.0.dataFilter.timeRange.from", "2024-07-01T00:00:00Z"),
         "processRequest.input.data[0].dataFilter.timeRange"),
        ("cloud cover > 100", changed(body, "processRequest.input.data.0.dataFilter.maxCloudCoverage", 150),
         "processRequest.input.data[0].dataFilter.maxCloudCoverage"),
        ("no data", changed(body, "processRequest.input.data", []), "processRequest.input.data"),
        ("bad interpolation step", changed(body, "processRequest.input.data.0.processing",
                                           {"temporalInterpolation": {"step": "5 days"}}),
         "processRequest.input.data[0].processing.temporalInterpolation.step"),
        ("template without tileName",
         {**changed(body, "bucketName", ...), "output": {"defaultTilePath": "s3://results/<requestId>/x.tif"}},
         "output.defaultTilePath"),
        ("no output", changed(body, "bucketName", ...), "output.defaultTilePath"),
        ("output not on s3", {**changed(body, "bucketName", ...), "output": {"defaultTilePath": "/tmp/out"}},
         "output.defaultTilePath"),
        ("zarr output", {**changed(body, "bucketName", ...), "zarrOutput": {"path": "s3://results/z"}},
         "zarrOutput"),
        ("AOI outside the grid (LAEA Europe)",
         changed(changed(body, "tilingGrid", {"id": 6, "resolution": 100.0}),
                 "processRequest.input.bounds.bbox", [-60.0, -10.0, -59.9, -9.9]),
         "processRequest.input.bounds"),
        ("too many tiles",  # 4° x 4° in 10 km tiles: far more than the limit of 500
         changed(changed(body, "tilingGrid", {"id": 1, "resolution": 10.0}),
                 "processRequest.input.bounds.bbox", [10.0, 40.0, 14.0, 44.0]),
         "processRequest.input.bounds"),
        ("too many vertices", changed(body, "processRequest.input.bounds", {
            "geometry": {"type": "Polygon", "coordinates": [[[12.2 + i * 1e-4, 41.2] for i in range(1200)]
                                                            + [[12.3, 41.3], [12.2, 41.2]]]}}),
         "processRequest.input.bounds.geometry"),
        ("evalscript too large", changed(body, "processRequest.evalscript", "//VERSION=3\n" + "x" * 60_000),
         "processRequest.evalscript"),
        ("not an object", [1, 2, 3], "body"),
        ("malformed JSON", b'{"processRequest": ', "body"),
    ]


@pytest.mark.parametrize(("case", "body", "field"), _bad_v1_inputs(), ids=[c[0] for c in _bad_v1_inputs()])
def test_bad_v1_inputs_are_400_naming_the_field_and_store_nothing(
    client: TestClient, alice: Account, redis_conn: redis.Redis, case: str, body, field: str
) -> None:
    if isinstance(body, bytes):
        response = client.post(V1, content=body, headers={**alice.headers, "Content-Type": "application/json"})
    else:
        response = client.post(V1, json=body, headers=alice.headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and error["status"] == 400
    assert field in error["message"], error
    assert _stored_keys(redis_conn) == []


def _bad_v2_inputs() -> list[tuple[str, dict, str]]:
    body = v2_body()
    return [
        ("template without tileName", changed(body, "output.delivery.s3.url", "s3://results/<requestId>/a.tif"),
         "output.delivery.s3.url"),
        ("tileId in v2", changed(body, "output.delivery.s3.url", "s3://results/<tileId>/<outputId>.tif"),
         "output.delivery.s3.url"),
        ("unknown grid", changed(body, "input.id", 5), "input.id"),
        ("resolution not allowed", changed(body, "input.resolution", 10.0), "input.resolution"),
        ("geopackage input", changed(body, "input", {"type": "geopackage", "features": {}}), "input.type"),
        ("zarr output", changed(body, "output.type", "zarr"), "output.type"),
        ("half credentials", changed(body, "output.delivery.s3.secretAccessKey", ...), "output.delivery.s3"),
        ("bucket does not exist", changed(body, "output.delivery.s3.url", "s3://no-such-bucket/<tileName>.tif"),
         "output.delivery.s3.url"),
        ("bad instance type", changed(body, "instanceType", "huge"), "instanceType"),
        ("missing output", changed(body, "output", ...), "output"),
    ]


@pytest.mark.parametrize(("case", "body", "field"), _bad_v2_inputs(), ids=[c[0] for c in _bad_v2_inputs()])
def test_bad_v2_inputs_are_400_naming_the_field_and_store_nothing(
    client: TestClient, alice: Account, redis_conn: redis.Redis, settings, case: str, body: dict, field: str
) -> None:
    s3 = moto_s3(settings.s3_endpoint_url)
    before = s3.list_objects_v2(Bucket=RESULTS_BUCKET).get("KeyCount", 0)
    response = client.post(V2, json=body, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["message"]
    assert _stored_keys(redis_conn) == []
    assert s3.list_objects_v2(Bucket=RESULTS_BUCKET).get("KeyCount", 0) == before


def test_oversized_body_is_refused(client: TestClient, alice: Account, redis_conn: redis.Redis) -> None:
    body = v1_body(description="x" * 300_000)
    response = client.post(V1, json=body, headers=alice.headers)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "COMMON_BAD_PAYLOAD" and "limit of 200000 bytes" in error["message"]
    assert _stored_keys(redis_conn) == []


def test_oversized_chunked_body_is_refused(client: TestClient, alice: Account, redis_conn: redis.Redis) -> None:
    payload = json.dumps(v1_body(description="x" * 300_000)).encode()
    chunks = (payload[i : i + 65536] for i in range(0, len(payload), 65536))
    response = client.post(V1, content=chunks, headers={**alice.headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert _stored_keys(redis_conn) == []
