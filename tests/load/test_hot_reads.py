"""The hot endpoints' reads (one Lua script round trip each, on the asyncio client) return exactly what the
store's blocking reads return, on a real redis-server; the per-process cache of encoded tiles answers exactly what
encoding the decoded tile gives, never a stale tile; and the asyncio client survives a Redis restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
import redis.asyncio
from fastapi.testclient import TestClient
from support.redis_server import RedisServer, running_redis

from api.app import create_app
from api.auth import issue_token
from api.responses import json_answer
from api.store_reads import AsyncStoreReads, TilePage
from api.tile_json import encoded_v1_tile, v1_tiles_data
from api.views import v1_tile
from evalbatch import accounts
from evalbatch.settings import Settings
from evalbatch.states import TileStatus
from evalbatch.store import Store, merge_tile, utc_now
from ops.credentials import Credentials
from ops.ports import StackPorts, free_port
from ops.redis_service import RedisService
from ops.service_base import StackContext

REQUEST_ID = "7d9a0d3e-0000-4000-8000-000000000001"
TILE_IDS = [10, 11, 12, 20, 21, 30, 31, 32, 33, 40]  # not contiguous: cursors are ids, not positions
PROCESSED = {11, 20, 33}
FAILED = {31}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("hot-reads")) as running:
        yield running


@pytest.fixture
def store(server: RedisServer) -> Iterator[Store]:
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    yield Store(client)
    client.close()


def put_request(store: Store, request_id: str = REQUEST_ID, account_id: str = "account-1") -> None:
    """A v1 request whose tiles are PENDING, PROCESSED (with run records) and FAILED."""
    now = utc_now()
    record = {"id": request_id, "accountId": account_id, "apiVersion": 1, "created": now, "status": "PROCESSING",
              "request": {"processRequest": {"evalscript": "//VERSION=3"}}, "tileCount": len(TILE_IDS)}  # fmt: skip
    store.create_request(record)
    geometry = {"type": "Polygon", "coordinates": [[[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]]}
    store.put_tiles(request_id, [{"id": t, "name": f"T{t}", "requestId": request_id, "geometry": geometry}
                                 for t in TILE_IDS])  # fmt: skip
    for tile_id in PROCESSED | FAILED:
        status = TileStatus.FAILED if tile_id in FAILED else TileStatus.PROCESSED
        store.set_tile_status(request_id, tile_id, status)
        store.update_tile_info(
            request_id, tile_id, attempts=1, finished=now, error="boom" if tile_id in FAILED else None
        )


def read(server: RedisServer, call) -> object:
    """Run `call(reads)` on a fresh asyncio client (each test has its own event loop)."""

    async def run() -> object:
        client = redis.asyncio.Redis.from_url(server.url)
        try:
            return await call(AsyncStoreReads(client))
        finally:
            await client.aclose()

    return asyncio.run(run())


def page_tiles(page: TilePage) -> list[dict]:
    return [merge_tile(s, st, i) for s, st, i in zip(page.static, page.statuses, page.infos, strict=True) if s]


def test_request_and_counts_in_one_read_equal_the_store_reads(server: RedisServer, store: Store) -> None:
    put_request(store)
    record, counts = read(server, lambda reads: reads.request_with_counts(REQUEST_ID))
    assert record == store.get_request(REQUEST_ID)
    assert counts == store.tile_counts(REQUEST_ID)
    assert counts["PROCESSED"] == 3 and counts["FAILED"] == 1 and counts["PENDING"] == 6


def test_a_missing_request_reads_as_none_with_zero_counts(server: RedisServer, store: Store) -> None:
    record, counts = read(server, lambda reads: reads.request_with_counts("no-such-request"))
    assert record is None and set(counts.values()) == {0} and set(counts) == {s.value for s in TileStatus}


@pytest.mark.parametrize("status", [None, TileStatus.PENDING, TileStatus.PROCESSED, TileStatus.FAILED])
@pytest.mark.parametrize("count", [1, 3, 100])
def test_tile_pages_equal_the_store_reads(server: RedisServer, store: Store, status, count) -> None:
    put_request(store)
    after, seen = None, []
    for _ in range(len(TILE_IDS) + 1):
        page = read(server, lambda reads, a=after: reads.tile_page(REQUEST_ID, status, a, count))
        expected_ids = store.tile_ids(REQUEST_ID, status, after, count + 1)
        assert page.owner == ("account-1", 1)
        assert page.ids == expected_ids  # one more than the page when another page follows
        assert page_tiles(page) == store.get_tiles(REQUEST_ID, expected_ids[:count])
        seen += [tile["id"] for tile in page_tiles(page)]
        if len(page.ids) <= count:
            break
        after = page.ids[count - 1]
    wanted = {None: set(TILE_IDS), TileStatus.PENDING: set(TILE_IDS) - PROCESSED - FAILED}
    assert seen == sorted(wanted.get(status, PROCESSED if status is TileStatus.PROCESSED else FAILED))


def test_tile_reads_name_the_owner_and_nothing_of_a_missing_request(server: RedisServer, store: Store) -> None:
    put_request(store, account_id="account-2")
    page = read(server, lambda reads: reads.tile_page(REQUEST_ID, None, None, 100))
    assert page.owner == ("account-2", 1)  # the endpoint answers 404 to everyone else
    missing = read(server, lambda reads: reads.tile_page("no-such-request", None, None, 100))
    assert missing == TilePage(owner=None, ids=[])


def test_one_tile_by_id(server: RedisServer, store: Store) -> None:
    put_request(store)
    found = read(server, lambda reads: reads.tile(REQUEST_ID, 31))
    assert page_tiles(found) == [store.get_tile(REQUEST_ID, 31)]
    assert page_tiles(found)[0]["status"] == "FAILED" and page_tiles(found)[0]["error"] == "boom"
    absent = read(server, lambda reads: reads.tile(REQUEST_ID, 13))  # between existing ids
    assert absent.owner == ("account-1", 1) and absent.ids == [] and page_tiles(absent) == []


def test_encoded_tiles_are_what_encoding_the_decoded_tile_gives(server: RedisServer, store: Store) -> None:
    put_request(store)
    page = read(server, lambda reads: reads.tile_page(REQUEST_ID, None, None, 100))
    data = v1_tiles_data(REQUEST_ID, page.static, page.statuses, page.infos)
    expected = [v1_tile(tile, REQUEST_ID) for tile in store.get_tiles(REQUEST_ID, TILE_IDS)]
    assert orjson.loads(orjson.dumps({"data": data})) == {"data": expected}
    assert json.loads(json_answer({"data": data}).body) == {"data": expected}


def test_a_changed_tile_is_never_answered_from_the_cache(server: RedisServer, store: Store) -> None:
    put_request(store)

    def tile_10() -> dict:
        page = read(server, lambda reads: reads.tile_page(REQUEST_ID, None, None, 1))
        return orjson.loads(orjson.dumps(v1_tiles_data(REQUEST_ID, page.static, page.statuses, page.infos)))[0]

    assert tile_10()["status"] == "PENDING" and "attempts" not in tile_10()
    store.set_tile_status(REQUEST_ID, 10, TileStatus.PROCESSING)
    store.update_tile_info(REQUEST_ID, 10, attempts=2)
    assert tile_10()["status"] == "PROCESSING" and tile_10()["attempts"] == 2


def test_a_tile_orjson_refuses_is_answered_by_the_standard_encoder() -> None:
    deep = b"[" * 300 + b"]" * 300  # nesting beyond orjson's encoder limit
    static = json.dumps({"id": 5, "name": "T5", "requestId": REQUEST_ID}).encode()
    info = b'{"trace": ' + deep + b"}"
    assert encoded_v1_tile(REQUEST_ID, static, b"FAILED", info) is None
    data = v1_tiles_data(REQUEST_ID, [static, static], [b"PENDING", b"FAILED"], [None, info])
    assert all(isinstance(tile, dict) for tile in data)  # the whole page then takes the standard path
    answer = json.loads(json_answer({"data": data}).body)
    assert [tile["status"] for tile in answer["data"]] == ["PENDING", "FAILED"]
    assert answer["data"][1]["trace"] == json.loads(deep)


def test_the_hot_endpoints_answer_again_after_redis_restarts(tmp_path: Path) -> None:
    context = StackContext(tmp_path, StackPorts(redis=free_port()), Credentials.generate())
    service = RedisService(context)  # AOF on: the data outlives the restart
    service.start()
    client = redis.Redis.from_url(service.url)
    try:
        settings = Settings(_env_file=None, redis_url=service.url, signing_key="hot-reads-key-" + "k" * 32)
        created = accounts.create_client(client, name="hot-reads")
        caller = accounts.verify_client(client, created["client_id"], created["client_secret"])
        assert caller is not None
        put_request(Store(client), account_id=caller.account_id)
        headers = {"Authorization": f"Bearer {issue_token(caller, settings)['access_token']}"}
        url = f"/api/v1/batch/process/{REQUEST_ID}"
        with TestClient(create_app(settings)) as api:
            assert api.get(url, headers=headers).status_code == 200
            assert api.get(f"{url}/tiles", headers=headers).status_code == 200  # connections now pooled
            service.stop()
            service.start()  # the pooled connections are dead now
            answer = api.get(url, headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["tileStatusCounts"]["PROCESSED"] == 3
            tiles = api.get(f"{url}/tiles", headers=headers)
            assert tiles.status_code == 200, tiles.text
            assert [tile["id"] for tile in tiles.json()["data"]] == TILE_IDS
    finally:
        client.close()
        service.stop()
