"""Tenancy: account B can neither read, list, change, act on nor see the tiles of account A's requests.

The endpoint list comes from the app's route table, so an endpoint added later is covered automatically (and
an `/api/` endpoint that is neither per-request nor a known account-neutral one fails the classification test).
"""

from __future__ import annotations

import re

import pytest
import redis
from fastapi.testclient import TestClient
from security_bodies import FOUR_CELL_BBOX, GRID_ID, RESOLUTION, v1_body, v2_body
from security_support import ROUTES, assert_error, route_id, tile_records
from support.api_accounts import Account

from evalbatch.store import Store

REQUEST_PARAM = "{request_id}"
# Account-neutral endpoints under /api/: creating (the caller's own request), listing (filtered by account,
# checked below) and the public tiling grids.
NEUTRAL_API_ROUTES = {
    ("POST", "/api/v1/batch/process"),
    ("GET", "/api/v1/batch/process"),
    ("POST", "/api/v2/batch/process"),
    ("GET", "/api/v2/batch/process"),
    ("GET", "/api/v1/batch/tilinggrids"),
    ("GET", "/api/v1/batch/tilinggrids/{grid_id}"),
    ("GET", "/api/v2/batch/tilinggrids"),
    ("GET", "/api/v2/batch/tilinggrids/{grid_id}"),
}
LIST_SORTS = [None, "created", "created:desc", "status", "status:desc"]
OWNED_ROUTES = [(method, path) for method, path in ROUTES if REQUEST_PARAM in path]


def api_version(path: str) -> int:
    """1 or 2: the API version of a path."""
    return int(re.match(r"/api/v(\d)/", path).group(1))  # type: ignore[union-attr]


def redis_snapshot(client: redis.Redis) -> dict[bytes, bytes | None]:
    """Every key of the database with its serialized value."""
    return {key: client.dump(key) for key in client.scan_iter()}


@pytest.fixture
def alices_requests(client: TestClient, alice: Account) -> dict[str, str]:
    """Alice's v1 request (with tiles) and v2 task: {"1": id, "2": id, "tile": tile id}."""
    v1 = client.post("/api/v1/batch/process", json=v1_body(), headers=alice.headers)
    v2 = client.post("/api/v2/batch/process", json=v2_body(), headers=alice.headers)
    assert v1.status_code == v2.status_code == 201, (v1.text, v2.text)
    tiles = tile_records(v1.json()["id"], FOUR_CELL_BBOX, GRID_ID, RESOLUTION)
    Store(client.app.state.redis).put_tiles(v1.json()["id"], tiles)
    return {"1": v1.json()["id"], "2": v2.json()["id"], "tile": str(tiles[0]["id"])}


def concrete_path(path: str, request_id: str, tile_id: str) -> str:
    """A route path with its request and tile ids filled in."""
    return path.replace(REQUEST_PARAM, request_id).replace("{tile_id}", tile_id)


def call(client: TestClient, method: str, path: str, account: Account):
    """Call an endpoint as `account` (with a description change as the body of PUT and POST)."""
    body = {"description": "changed by someone else"} if method in ("PUT", "POST") else None
    return client.request(method, path, json=body, headers=account.headers)


def test_every_api_route_is_classified() -> None:
    unclassified = [r for r in ROUTES if r not in NEUTRAL_API_ROUTES and REQUEST_PARAM not in r[1]]
    assert unclassified == [], "new /api/ endpoints need a tenancy rule in this module"
    assert len(OWNED_ROUTES) >= 14  # v1: get, put, delete, 4 actions, tiles, tile; v2: get, put, 3 actions


@pytest.mark.parametrize("route", OWNED_ROUTES, ids=route_id)
def test_another_account_gets_404_and_changes_nothing(
    client: TestClient, alice: Account, bob: Account, alices_requests: dict[str, str], route: tuple[str, str]
) -> None:
    method, template = route
    request_id = alices_requests[str(api_version(template))]
    path = concrete_path(template, request_id, alices_requests["tile"])
    before = redis_snapshot(client.app.state.redis)
    assert_error(call(client, method, path, bob), 404, "COMMON_NOT_FOUND")
    assert redis_snapshot(client.app.state.redis) == before
    owner_view = client.get(f"/api/v{api_version(template)}/batch/process/{request_id}", headers=alice.headers)
    assert owner_view.status_code == 200


@pytest.mark.parametrize("route", OWNED_ROUTES, ids=route_id)
def test_a_request_is_invisible_through_the_other_api_version(
    client: TestClient, alice: Account, alices_requests: dict[str, str], route: tuple[str, str]
) -> None:
    method, template = route
    other_version = "2" if api_version(template) == 1 else "1"
    path = concrete_path(template, alices_requests[other_version], alices_requests["tile"])
    before = redis_snapshot(client.app.state.redis)
    assert_error(call(client, method, path, alice), 404, "COMMON_NOT_FOUND")
    assert redis_snapshot(client.app.state.redis) == before


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("sort", LIST_SORTS)
def test_lists_never_show_another_accounts_requests(
    client: TestClient, alice: Account, bob: Account, alices_requests: dict[str, str], version: str, sort: str | None
) -> None:
    own = client.post(
        f"/api/v{version}/batch/process", json=(v1_body if version == "1" else v2_body)(), headers=bob.headers
    )
    assert own.status_code == 201
    url = f"/api/v{version}/batch/process"
    queries = [{}, {"search": alices_requests[version]}, {"search": "security"}, {"count": 1}]
    for query in queries:
        params = {**query, **({"sort": sort} if sort else {})}
        seen = client.get(url, params=params, headers=bob.headers).json()["data"]
        assert alices_requests[version] not in {r["id"] for r in seen}, params
    assert [r["id"] for r in client.get(url, headers=bob.headers).json()["data"]] == [own.json()["id"]]
    assert [r["id"] for r in client.get(url, headers=alice.headers).json()["data"]] == [alices_requests[version]]
