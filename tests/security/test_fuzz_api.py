"""Schemathesis against the uvicorn-served app, generated from the root openapi.yaml.

Every operation gets a bounded number of generated calls (valid and invalid inputs, derandomized so runs are
repeatable; EVALBATCH_FUZZ_EXAMPLES raises the bound) with a valid bearer token. Operations on one request are
called twice per example: with the generated id, and with the id of a real request of the caller (a v1 request
with tiles, a v2 task; a fresh request for DELETE), so state-changing calls and tile views are fuzzed on real
objects too. Each response
must not be a server error, must use a documented status code and content type, and its body must match the
documented schema.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from security_bodies import FOUR_CELL_BBOX, GRID_ID, RESOLUTION, v1_body, v2_body
from security_support import ApiServer, tile_records
from support.api_accounts import register

from api.openapi import OPENAPI_FILE
from evalbatch.store import Store

EXAMPLES_PER_OPERATION = int(os.environ.get("EVALBATCH_FUZZ_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

schema = schemathesis.openapi.from_path(str(OPENAPI_FILE))


@dataclass
class Fuzzer:
    """The fuzzing account: its bearer header and one real request per API version (and a real tile)."""

    url: str
    headers: dict[str, str]
    request_ids: dict[str, str]  # path prefix -> request id
    tile_id: int

    def fresh_v1_request(self) -> str:
        """The id of a new v1 request of the account."""
        response = httpx.post(f"{self.url}/api/v1/batch/process", json=v1_body(), headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]


@pytest.fixture(scope="module")
def fuzzer(api_server: ApiServer, security_redis_url: str) -> Fuzzer:
    """An account of the server's database with a v1 request (tiles stored) and a v2 task."""
    client = redis.Redis.from_url(security_redis_url)
    with httpx.Client(base_url=api_server.url) as http:
        headers = register(client, http, "fuzzer").headers
        v1 = http.post("/api/v1/batch/process", json=v1_body(), headers=headers)
        v2 = http.post("/api/v2/batch/process", json=v2_body(), headers=headers)
    assert v1.status_code == v2.status_code == 201, (v1.text, v2.text)
    tiles = tile_records(v1.json()["id"], FOUR_CELL_BBOX, GRID_ID, RESOLUTION)
    Store(client).put_tiles(v1.json()["id"], tiles)
    ids = {"/api/v1/": v1.json()["id"], "/api/v2/": v2.json()["id"]}
    return Fuzzer(api_server.url, headers, ids, int(tiles[0]["id"]))


def _real_id_variant(case, fuzzer: Fuzzer) -> bool:
    """Point the case at the caller's real request (and tile); False when the operation has no request id."""
    if "requestId" not in (case.path_parameters or {}):
        return False
    if case.method.upper() == "DELETE":
        case.path_parameters["requestId"] = fuzzer.fresh_v1_request()
    else:
        case.path_parameters["requestId"] = fuzzer.request_ids[case.path[: len("/api/v1/")]]
    if "tileId" in case.path_parameters:
        case.path_parameters["tileId"] = fuzzer.tile_id
    return True


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_contract(case, api_server: ApiServer, fuzzer: Fuzzer) -> None:
    case.call_and_validate(base_url=api_server.url, headers=fuzzer.headers, checks=CHECKS)
    if _real_id_variant(case, fuzzer):
        case.call_and_validate(base_url=api_server.url, headers=fuzzer.headers, checks=CHECKS)
