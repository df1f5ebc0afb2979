"""The Redis store: requests, atomic transitions, tile paging and status moves, accounts."""

from __future__ import annotations

import threading
import uuid

import redis

from evalbatch import accounts
from evalbatch.states import Action, Outcome, RequestStatus, TileStatus
from evalbatch.store import Store, completion_percentage, utc_now


def _record(account: str = "acct-a", version: int = 1) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "accountId": account,
        "apiVersion": version,
        "created": utc_now(),
        "status": RequestStatus.CREATED.value,
        "userAction": "NONE",
        "description": "test",
    }


def test_request_round_trip_and_listing(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    first, second, other = _record(), _record(), _record(account="acct-b")
    for record in (first, second, other):
        store.create_request(record, secrets={"secretAccessKey": "s"} if record is first else None)
    assert store.get_request(first["id"])["description"] == "test"
    assert store.request_owner(other["id"]) == ("acct-b", 1)
    assert store.list_request_ids("acct-a", 1) == [first["id"], second["id"]]
    assert store.list_request_ids("acct-a", 2) == []
    assert store.get_secrets(first["id"]) == {"secretAccessKey": "s"}
    assert store.get_secrets(second["id"]) == {}
    store.delete_request(first["id"])
    assert store.get_request(first["id"]) is None
    assert store.request_owner(first["id"]) is None
    assert store.list_request_ids("acct-a", 1) == [second["id"]]


def test_apply_action_follows_the_table(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    record = _record()
    store.create_request(record)
    rule, previous = store.apply_action(record["id"], Action.START, 1)
    assert rule.outcome is Outcome.APPLY and previous is RequestStatus.CREATED
    after = store.get_request(record["id"])
    assert after["status"] == "ANALYSING" and after["userAction"] == "START"
    rule, _ = store.apply_action(record["id"], Action.RESTART_PARTIAL, 1)
    assert rule.outcome is Outcome.REJECT
    assert store.apply_action("missing", Action.START, 1)[1] is None


def test_transition_is_atomic_under_concurrency(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    record = _record()
    store.create_request(record)
    wins: list[bool] = []

    def attempt() -> None:
        wins.append(store.transition(record["id"], RequestStatus.ANALYSING, expected=[RequestStatus.CREATED]))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    assert store.get_request(record["id"])["status"] == "ANALYSING"


def test_tiles_paging_status_moves_and_counts(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    rid = "r1"
    tile_ids = list(range(10_000_000_000_000, 10_000_000_000_000 + 2500, 1))
    assert store.put_tiles(rid, ({"id": t, "name": f"T{t}"} for t in tile_ids)) == 2500
    assert list(store.iter_tile_ids(rid)) == tile_ids
    page = store.tile_ids(rid, after=tile_ids[99], count=50)
    assert page == tile_ids[100:150]

    assert store.set_tile_status(rid, tile_ids[0], TileStatus.QUEUED) is TileStatus.PENDING
    # not allowed: the tile is QUEUED, not PENDING
    assert store.set_tile_status(rid, tile_ids[0], TileStatus.PROCESSING, [TileStatus.PENDING]) is None
    store.set_tile_status(rid, tile_ids[0], TileStatus.PROCESSED)
    store.set_tile_status(rid, tile_ids[1], TileStatus.FAILED)
    store.update_tile_info(rid, tile_ids[1], error="boom", attempts=2)
    counts = store.tile_counts(rid)
    assert counts["PROCESSED"] == 1 and counts["FAILED"] == 1 and counts["PENDING"] == 2498
    assert store.tile_ids(rid, TileStatus.FAILED) == [tile_ids[1]]
    failed = store.get_tile(rid, tile_ids[1])
    assert failed["status"] == "FAILED" and failed["error"] == "boom" and failed["name"] == f"T{tile_ids[1]}"
    assert completion_percentage(counts, 2500) == 0.08
    store.record_progress(rid)
    assert store.progress(rid)[-1][1:] == [1, 1]


def test_clients_hash_secrets(redis_client: redis.Redis) -> None:
    created = accounts.create_client(redis_client, name="ci")
    stored = redis_client.hgetall(f"eb:client:{created['client_id']}")
    assert created["client_secret"].encode() not in b"".join(stored.values())
    client = accounts.verify_client(redis_client, created["client_id"], created["client_secret"])
    assert client is not None and client.account_id == created["account_id"]
    assert accounts.verify_client(redis_client, created["client_id"], "wrong") is None
    assert accounts.verify_client(redis_client, "unknown", created["client_secret"]) is None
