"""START fan-out on a real Redis: deterministic job ids, timeouts, retries, idempotence, budget guard,
and finalisation from tile counts."""

from __future__ import annotations

from rq.job import Job
from rq.serializers import JSONSerializer
from support.batch_requests import make_spec

from evalbatch import keys
from evalbatch.queues import tile_queue
from evalbatch.settings import Settings
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store, utc_now
from workers import fanout, tiles

SETTINGS = Settings(tile_timeout_s=900, tile_retries=2)


def create(store: Store, n_tiles: int, status: str = "PROCESSING", **spec_extra) -> str:
    spec = make_spec("//VERSION=3", **spec_extra)
    store.create_request({"id": "req", "accountId": "a", "apiVersion": 1, "created": utc_now(), "status": status,
                          "userAction": "START", "spec": spec.to_dict(), "tileCount": n_tiles, "costPU": 0,
                          "estimate": {"perTileSeconds": 400.0, "processingUnits": 150.0}})
    store.put_tiles("req", [{"id": 10 + i, "name": f"T{i}", "widthPx": 100, "heightPx": 100}
                            for i in range(n_tiles)])
    return "req"


def test_fan_out_enqueues_each_pending_tile_once(redis_client):
    store = Store(redis_client)
    create(store, 2500)
    assert fanout.fan_out(store, SETTINGS, "req") == 2500
    queue = tile_queue(redis_client)
    assert queue.count == 2500
    assert store.tile_counts("req")[TileStatus.QUEUED] == 2500
    job = Job.fetch(keys.tile_job_id("req", 2509), connection=redis_client, serializer=JSONSerializer)
    assert job.func_name == fanout.TILE_JOB and job.args == ["req", [2509]]  # 400 s tiles: one job each
    assert job.timeout == 2000  # 5 x the estimated 400 s beats the 900 s setting
    assert job.retries_left == 2 and job.retry_intervals == [5, 30]
    assert fanout.fan_out(store, SETTINGS, "req") == 0  # every tile has a live job already
    assert queue.count == 2500


def test_orphaned_queued_tiles_are_enqueued_again(redis_client):
    store = Store(redis_client)
    create(store, 3)
    fanout.fan_out(store, SETTINGS, "req")
    tile_queue(redis_client).empty()  # jobs lost (e.g. cancelled) while tiles still say QUEUED
    assert fanout.fan_out(store, SETTINGS, "req") == 3


def test_nothing_happens_unless_processing(redis_client):
    store = Store(redis_client)
    create(store, 3, status="ANALYSIS_DONE")
    assert fanout.fan_out(store, SETTINGS, "req") == 0
    assert store.tile_counts("req")[TileStatus.PENDING] == 3


def test_budget_guard(redis_client):
    store = Store(redis_client)
    create(store, 1, max_processing_units=100.0)
    assert fanout.over_budget(store.get_request("req")) == (150.0, 100.0)
    create(store, 1, max_processing_units=200.0)
    assert fanout.over_budget(store.get_request("req")) is None


def test_finalize_from_tile_counts(redis_client):
    store = Store(redis_client)
    create(store, 3)
    assert tiles.finalize(store, SETTINGS, "req") is None  # tiles still pending
    store.set_tile_status("req", 10, TileStatus.PROCESSED)
    store.set_tile_status("req", 11, TileStatus.PROCESSED)
    tiles.fail_tile(store, SETTINGS, "req", 12, "boom")  # the last tile finalises
    record = store.get_request("req")
    assert record["status"] == RequestStatus.PARTIAL and record["error"] == "1 of 3 tiles failed"
    assert store.get_tile("req", 12)["error"] == "boom"
    assert tiles.finalize(store, SETTINGS, "req") is None  # only once
