"""Limits: body size (413), evalscript size, AOI vertex count, tiles per request and JSON nesting (400).

Each refusal names the limit and the field; nothing is stored and no request copy is uploaded.
"""

from __future__ import annotations

import json
import math

import pytest
import redis
from fastapi.testclient import TestClient
from security_bodies import v1_body, v2_body, with_value
from security_support import LIMITS, RESULTS_BUCKET, assert_error
from support.api_accounts import Account, moto_s3

from api.dependencies import MAX_JSON_DEPTH

PATHS = {1: "/api/v1/batch/process", 2: "/api/v2/batch/process"}
EVALSCRIPT_FIELD = "processRequest.evalscript"
GEOMETRY_FIELD = "processRequest.input.bounds.geometry"
BOUNDS_FIELD = "processRequest.input.bounds"


def body_of(version: int) -> dict:
    return v1_body() if version == 1 else v2_body()


def circle(vertices: int, center: tuple[float, float] = (12.5, 41.5), radius: float = 0.2) -> dict:
    """A GeoJSON polygon with `vertices` distinct corners (plus the closing one)."""
    angles = [2 * math.pi * i / vertices for i in range(vertices)]
    ring = [[center[0] + radius * math.cos(a), center[1] + radius * math.sin(a)] for a in angles]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def with_geometry(body: dict, geometry: dict) -> dict:
    return with_value(body, "processRequest.input.bounds", {"geometry": geometry})


@pytest.fixture
def nothing_stored(client: TestClient, redis_conn: redis.Redis):
    """Asserts after the test that no request was stored and no object uploaded."""
    s3 = moto_s3(client.app.state.settings.s3_endpoint_url)
    before = s3.list_objects_v2(Bucket=RESULTS_BUCKET).get("KeyCount", 0)
    yield
    assert list(redis_conn.scan_iter("eb:req:*")) == []
    assert s3.list_objects_v2(Bucket=RESULTS_BUCKET).get("KeyCount", 0) == before


def assert_limit_refusal(response, status: int, field: str, limit: int) -> None:
    assert_error(response, status, "COMMON_BAD_PAYLOAD")
    message = response.json()["error"]["message"]
    assert message.startswith(field) and f"limit of {limit}" in message, message


@pytest.mark.parametrize("version", [1, 2])
def test_body_over_the_limit_is_413(client, alice: Account, nothing_stored, version: int) -> None:
    body = body_of(version) | {"description": "x" * LIMITS["max_body_bytes"]}
    response = client.post(PATHS[version], json=body, headers=alice.headers)
    assert_error(response, 413, "COMMON_BAD_PAYLOAD")
    assert f"limit of {LIMITS['max_body_bytes']} bytes" in response.json()["error"]["message"]


@pytest.mark.parametrize("version", [1, 2])
def test_chunked_body_over_the_limit_is_413(client, alice: Account, nothing_stored, version: int) -> None:
    payload = json.dumps(body_of(version) | {"description": "x" * LIMITS["max_body_bytes"]}).encode()
    chunks = (payload[i : i + 32768] for i in range(0, len(payload), 32768))
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = client.post(PATHS[version], content=chunks, headers=headers)
    assert_error(response, 413, "COMMON_BAD_PAYLOAD")


def test_multipart_body_over_the_limit_is_413(client, alice: Account, nothing_stored) -> None:
    files = {"request": (None, json.dumps(v1_body())), "evalscript": (None, "//" + "x" * LIMITS["max_body_bytes"])}
    response = client.post(PATHS[1], files=files, headers=alice.headers)
    assert_error(response, 413, "COMMON_BAD_PAYLOAD")


@pytest.mark.parametrize("version", [1, 2])
def test_evalscript_over_the_limit_is_400(client, alice: Account, nothing_stored, version: int) -> None:
    limit = LIMITS["max_evalscript_bytes"]
    script = body_of(version)["processRequest"]["evalscript"] + "//" + "é" * (limit // 2)  # 2 bytes each
    assert len(script) < limit < len(script.encode())  # counted in bytes, not characters
    body = with_value(body_of(version), "processRequest.evalscript", script)
    assert_limit_refusal(client.post(PATHS[version], json=body, headers=alice.headers), 400, EVALSCRIPT_FIELD, limit)


def test_multipart_evalscript_over_the_limit_is_400(client, alice: Account, nothing_stored) -> None:
    limit = LIMITS["max_evalscript_bytes"]
    files = {"request": (None, json.dumps(v1_body())), "evalscript": (None, "//" + "x" * limit)}
    assert_limit_refusal(client.post(PATHS[1], files=files, headers=alice.headers), 400, EVALSCRIPT_FIELD, limit)


@pytest.mark.parametrize("version", [1, 2])
def test_aoi_with_too_many_vertices_is_400(client, alice: Account, nothing_stored, version: int) -> None:
    limit = LIMITS["max_aoi_vertices"]
    body = with_geometry(body_of(version), circle(limit))  # limit corners + the closing vertex
    assert_limit_refusal(client.post(PATHS[version], json=body, headers=alice.headers), 400, GEOMETRY_FIELD, limit)


@pytest.mark.parametrize("version", [1, 2])
def test_aoi_at_the_vertex_limit_is_accepted(client, alice: Account, version: int) -> None:
    body = with_geometry(body_of(version), circle(LIMITS["max_aoi_vertices"] - 1))
    assert client.post(PATHS[version], json=body, headers=alice.headers).status_code == 201


@pytest.mark.parametrize("version", [1, 2])
def test_too_many_tiles_is_400(client, alice: Account, nothing_stored, version: int) -> None:
    limit = LIMITS["max_tiles_per_request"]
    bbox = [0.5, 0.5, 10.5, 10.5]  # meets 11 x 11 one-degree cells of grid 3
    body = with_value(body_of(version), "processRequest.input.bounds.bbox", bbox)
    assert_limit_refusal(client.post(PATHS[version], json=body, headers=alice.headers), 400, BOUNDS_FIELD, limit)


@pytest.mark.parametrize("version", [1, 2])
def test_tiles_at_the_limit_are_accepted(client, alice: Account, version: int) -> None:
    bbox = [0.5, 0.5, 6.5, 6.5]  # 7 x 7 = 49 cells, under the limit of 50
    body = with_value(body_of(version), "processRequest.input.bounds.bbox", bbox)
    response = client.post(PATHS[version], json=body, headers=alice.headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 99_000])  # the deeper one beyond Python's recursion
def test_deeply_nested_json_is_400(client, alice: Account, nothing_stored, version: int, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    content = '{"description": ' + nested + "}"
    headers = {**alice.headers, "Content-Type": "application/json"}
    assert len(content) < LIMITS["max_body_bytes"]
    response = client.post(PATHS[version], content=content, headers=headers)
    assert_limit_refusal(response, 400, "body", MAX_JSON_DEPTH)
