"""Lists: stable viewtoken paging, sort, search, tiles (with status filter) and tiling grids."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from api_bodies import v1_body, v2_body
from fastapi.testclient import TestClient
from support.api_accounts import Account

from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store

GRID_IDS = [0, 1, 2, 3, 6, 7]


def _iterate(client: TestClient, url: str, headers: dict, on_page=None) -> list[dict]:
    """Follow `links.nextToken` the way the sentinelhub client does (same URL + viewtoken)."""
    items, token, pages = [], None, 0
    while True:
        separator = "&" if "?" in url else "?"
        body = client.get(f"{url}{separator}viewtoken={token}" if token else url, headers=headers).json()
        assert "data" in body and "links" in body
        items.extend(body["data"])
        pages += 1
        if on_page:
            on_page(pages)
        token = body["links"].get("nextToken")
        if not token or not body["data"]:
            return items
        next_url = urlsplit(body["links"]["next"])
        assert parse_qs(next_url.query)["viewtoken"] == [token]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("sort", ["created", "created:desc"])
def test_paging_has_no_duplicates_or_omissions_while_creating(
    client: TestClient, alice: Account, version: int, sort: str
) -> None:
    body = v1_body if version == 1 else v2_body
    url = f"/api/v{version}/batch/process"
    original = [client.post(url, json=body(), headers=alice.headers).json()["id"] for _ in range(7)]
    added: list[str] = []

    def create_more(page: int) -> None:
        added.append(client.post(url, json=body(), headers=alice.headers).json()["id"])

    seen = [item["id"] for item in _iterate(client, f"{url}?count=3&sort={sort}", alice.headers, create_more)]
    assert len(seen) == len(set(seen))
    assert set(original) <= set(seen)
    assert set(seen) <= set(original) | set(added)
    created = [item["created"] for item in _iterate(client, f"{url}?count=4&sort={sort}", alice.headers)]
    assert created == sorted(created, reverse=sort == "created:desc")


@pytest.mark.parametrize("sort", ["created", "created:desc"])
def test_paging_survives_deleting_the_cursor_request(client: TestClient, alice: Account, sort: str) -> None:
    url = "/api/v1/batch/process"
    created = [client.post(url, json=v1_body(), headers=alice.headers).json()["id"] for _ in range(5)]
    first = client.get(url, params={"count": 2, "sort": sort}, headers=alice.headers).json()
    assert client.delete(f"{url}/{first['data'][-1]['id']}", headers=alice.headers).status_code == 204
    rest = _iterate(client, f"{url}?count=2&sort={sort}&viewtoken={first['links']['nextToken']}", alice.headers)
    seen = [r["id"] for r in first["data"] + rest]
    assert len(seen) == len(set(seen)) == 5 and set(seen) == set(created)
    # the same order as a search (which always scans every record)
    scanned = _iterate(client, f"{url}?count=2&sort={sort}&search=ndvi", alice.headers)
    assert [r["id"] for r in scanned] == [r for r in seen if r != first["data"][-1]["id"]]


def test_default_and_clamped_page_size(client: TestClient, alice: Account) -> None:
    store = Store(client.app.state.redis)
    first = client.post("/api/v1/batch/process", json=v1_body(), headers=alice.headers).json()
    record = store.get_request(first["id"])
    for i in range(104):  # cheap copies of the same record
        store.create_request({**record, "id": f"{i:04d}-copy", "created": record["created"]})
    page = client.get("/api/v1/batch/process?count=500", headers=alice.headers).json()
    assert len(page["data"]) == 100 and "nextToken" in page["links"]
    assert len(client.get("/api/v1/batch/process", headers=alice.headers).json()["data"]) == 100
    rest = client.get(
        "/api/v1/batch/process", params={"viewtoken": page["links"]["nextToken"]}, headers=alice.headers
    ).json()
    assert len(rest["data"]) == 5 and "nextToken" not in rest["links"]
    assert rest["links"]["currentToken"] == page["links"]["nextToken"]


def test_latest_request_search_and_status_sort(client: TestClient, alice: Account) -> None:
    url = "/api/v1/batch/process"
    ids = [
        client.post(url, json=v1_body(description=d), headers=alice.headers).json()["id"]
        for d in ("NDVI Corsica", "ndwi Sardinia", "true colour")
    ]
    latest = client.get(url, params={"sort": "created:desc", "count": 1}, headers=alice.headers).json()
    assert [r["id"] for r in latest["data"]] == [ids[2]]
    found = client.get(url, params={"search": "nd"}, headers=alice.headers).json()["data"]
    assert {r["id"] for r in found} == {ids[0], ids[1]}
    assert [r["id"] for r in client.get(url, params={"search": ids[2][:13]}, headers=alice.headers).json()["data"]] == [
        ids[2]
    ]
    Store(client.app.state.redis).update_request(ids[0], status=RequestStatus.DONE.value)
    by_status = client.get(url, params={"sort": "status"}, headers=alice.headers).json()["data"]
    assert [r["status"] for r in by_status] == ["CREATED", "CREATED", "DONE"]
    by_status_desc = client.get(url, params={"sort": "status:desc"}, headers=alice.headers).json()["data"]
    assert by_status_desc[0]["id"] == ids[0]


@pytest.mark.parametrize(
    ("query", "field"), [({"sort": "name"}, "sort"), ({"viewtoken": "%%%"}, "viewtoken"), ({"count": "x"}, "count")]
)
def test_bad_list_parameters_are_400(client: TestClient, alice: Account, query: dict, field: str) -> None:
    response = client.get("/api/v1/batch/process", params=query, headers=alice.headers)
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_tiles_before_and_after_analysis(client: TestClient, alice: Account) -> None:
    request_id = client.post("/api/v1/batch/process", json=v1_body(), headers=alice.headers).json()["id"]
    tiles_url = f"/api/v1/batch/process/{request_id}/tiles"
    assert client.get(tiles_url, headers=alice.headers).json() == {"data": [], "links": {}}
    store = Store(client.app.state.redis)
    origin = {"type": "Point", "coordinates": [12.0, 42.0],
              "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}}
    store.put_tiles(
        request_id,
        [{"id": 1000 + i, "name": f"T{i}", "requestId": request_id, "origin": origin, "cost": 1.5} for i in range(7)],
    )
    for tile_id in (1001, 1003, 1005):
        store.set_tile_status(request_id, tile_id, TileStatus.PROCESSED)
    store.update_tile_info(request_id, 1005, error="no data", attempts=2)
    every = _iterate(client, f"{tiles_url}?count=2", alice.headers)
    assert [t["id"] for t in every] == list(range(1000, 1007))
    processed = _iterate(client, f"{tiles_url}?status=PROCESSED&count=2", alice.headers)
    assert [t["id"] for t in processed] == [1001, 1003, 1005]
    assert all(t["status"] == "PROCESSED" for t in processed)
    one = client.get(f"{tiles_url}/1005", headers=alice.headers).json()
    assert (one["name"], one["requestId"], one["error"], one["attempts"]) == ("T5", request_id, "no data", 2)
    assert one["origin"] == origin
    assert client.get(f"{tiles_url}/99", headers=alice.headers).status_code == 404
    assert client.get(f"{tiles_url}/abc", headers=alice.headers).status_code == 400
    assert client.get(f"{tiles_url}?status=DONE", headers=alice.headers).status_code == 400
    view = client.get(f"/api/v1/batch/process/{request_id}", headers=alice.headers).json()
    assert view["tileStatusCounts"] == {"PENDING": 4, "SCHEDULED": 0, "QUEUED": 0, "PROCESSING": 0,
                                        "PROCESSED": 3, "FAILED": 0}


@pytest.mark.parametrize("version", [1, 2])
def test_tiling_grids(client: TestClient, alice: Account, version: int) -> None:
    url = f"/api/v{version}/batch/tilinggrids"
    grids = _iterate(client, f"{url}?count=2", alice.headers)
    assert [g["id"] for g in grids] == GRID_IDS
    zero = client.get(f"{url}/0", headers=alice.headers).json()
    assert zero["name"] == "UTM 20km grid"
    assert zero["properties"]["tileWidth"] == 20040.0 and zero["properties"]["unit"] == "METRE"
    assert client.get(f"{url}/3", headers=alice.headers).json()["properties"]["unit"] == "DEGREE"
    for unknown in (4, 5, 99):
        response = client.get(f"{url}/{unknown}", headers=alice.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "COMMON_NOT_FOUND"
