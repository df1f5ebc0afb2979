"""Small tiles share one rq job: how they are grouped, and that each tile of a batch keeps its own status,
attempts, error, cost and results item through transient errors, user errors, cancels, timeouts and a job rq
gave up on. The tile pipeline is replaced by a fake (the pipeline itself is tested end to end elsewhere);
Redis is real."""

from __future__ import annotations

from typing import Any

import pytest
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException
from support.batch_requests import put_processing_request

from evalbatch import keys
from evalbatch.queues import cancel_jobs, control_queue, tile_job_ids, tile_queue
from evalbatch.settings import Settings, get_settings
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from workers import fanout, tiles
from workers.batching import BatchPolicy, plan_batches
from workers.errors import InvalidRequestError
from workers.pipeline import TileResult

REQUEST = "req"
POLICY = BatchPolicy(sample_seconds=1.0, sample_scenes=10, max_seconds=2.0, max_tiles=8)


def tile(tile_id: int, scenes: int = 0) -> dict[str, Any]:
    return {"id": tile_id, "name": f"T{tile_id}", "widthPx": 10, "heightPx": 10, "sceneCount": scenes}


# --- grouping ---------------------------------------------------------------------------------------------


def test_tiles_without_scenes_are_grouped_up_to_the_tile_limit():
    batches = list(plan_batches([tile(i) for i in range(20)], POLICY, size_limit=8))
    assert batches == [list(range(0, 8)), list(range(8, 16)), list(range(16, 20))]


def test_a_batch_closes_before_its_estimated_work_passes_the_limit():
    # 0.1 s per empty tile (1 of the sample's 10 scenes), 0.5 s for a tile of 5 scenes, 1 s for the sample's 10
    tiles_ = [tile(1, 5), tile(2, 5), tile(3, 5), tile(4, 10), tile(5), tile(6, 10), tile(7, 10), tile(8, 30)]
    assert list(plan_batches(tiles_, POLICY, size_limit=8)) == [[1, 2, 3], [4, 5], [6, 7], [8]]  # 8 alone: 3 s


def test_without_an_estimate_every_tile_has_a_job_of_its_own():
    unknown = BatchPolicy(sample_seconds=0.0, sample_scenes=0, max_seconds=2.0, max_tiles=8)
    assert unknown.size_limit(pending=1000, workers=2) == 1
    disabled = BatchPolicy(sample_seconds=0.1, sample_scenes=1, max_seconds=0.0, max_tiles=8)
    assert disabled.size_limit(pending=1000, workers=2) == 1
    assert list(plan_batches([tile(1), tile(2)], POLICY, size_limit=1)) == [[1], [2]]


def test_batches_leave_every_worker_several_jobs():
    assert POLICY.size_limit(pending=1000, workers=2) == 8  # the tile limit
    assert POLICY.size_limit(pending=24, workers=2) == 3  # 8 jobs for 2 workers
    assert POLICY.size_limit(pending=5, workers=2) == 1


# --- fan-out, cancel, recovery lookups ----------------------------------------------------------------------


def small_tile_request(store: Store, n_tiles: int) -> list[int]:
    """A PROCESSING request of `n_tiles` empty tiles whose analysis estimated 0.1 s for its sample tile."""
    put_processing_request(store, REQUEST, [tile(i) for i in range(1, n_tiles + 1)])
    store.update_request(REQUEST, estimate={"perTileSeconds": 0.1, "sampleTileId": 1, "processingUnits": 1.0})
    return list(range(1, n_tiles + 1))


def test_fan_out_groups_small_tiles_and_records_each_tiles_job(redis_client):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 100)
    settings = Settings(tile_batch_seconds=2.0, tile_batch_max=16, worker_count=2)
    assert fanout.fan_out(store, settings, REQUEST) == 100
    queue = tile_queue(redis_client)
    jobs = [Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer) for job_id in queue.job_ids]
    assert [len(job.args[1]) for job in jobs] == [13] * 7 + [9]  # ceil(100 / (2 workers x 4 jobs)) per job
    assert sorted(t for job in jobs for t in job.args[1]) == tile_ids
    job_of_tile = tile_job_ids(redis_client, REQUEST, tile_ids)
    assert all(job_of_tile[t] == job.id for job in jobs for t in job.args[1])
    assert store.tile_counts(REQUEST)[TileStatus.QUEUED] == 100
    assert fanout.fan_out(store, settings, REQUEST) == 0  # every tile has a live job

    cancel_jobs(redis_client, REQUEST, tile_ids)
    assert queue.count == 0
    assert all(job.get_status(refresh=True) == JobStatus.CANCELED for job in jobs)
    assert fanout.fan_out(store, settings, REQUEST) == 100  # their jobs are gone: queued again


# --- running a batch ------------------------------------------------------------------------------------------


class FakePipeline:
    """Stands in for workers.pipeline.run_tile and records what it ran; `behaviour` maps a tile id to an
    exception to raise or to a callable to run first."""

    def __init__(self, behaviour: dict[int, Any] | None = None) -> None:
        self.behaviour = behaviour or {}
        self.ran: list[int] = []
        self.published: list[list[int]] = []

    def run_tile(self, spec: Any, tile_: dict[str, Any], *args: Any, **kwargs: Any) -> TileResult:
        tile_id = int(tile_["id"])
        self.ran.append(tile_id)
        action = self.behaviour.pop(tile_id, None)
        if isinstance(action, BaseException):
            raise action
        if callable(action):
            action()
        return TileResult(outputs={"default": f"s3://results/{REQUEST}/T{tile_id}/default.tif"}, samples=1,
                          bands=["B04"], sample_types=["UINT8"], seconds=0.01)

    def publish_tiles(self, settings: Any, request_id: str, spec: Any, delivered: list) -> dict[int, str | None]:
        self.published.append([d.tile_id for d in delivered])
        return {d.tile_id: None for d in delivered}


@pytest.fixture
def pipeline(redis_client, monkeypatch) -> FakePipeline:
    url = redis_client.connection_pool.connection_kwargs
    monkeypatch.setenv("EVALBATCH_REDIS_URL", f"redis://{url['host']}:{url['port']}/0")
    get_settings.cache_clear()
    fake = FakePipeline()
    monkeypatch.setattr(tiles, "run_tile", fake.run_tile)
    monkeypatch.setattr(tiles, "publish_tiles", fake.publish_tiles)
    yield fake
    get_settings.cache_clear()


def statuses(store: Store, tile_ids: list[int]) -> list[str]:
    return [t["status"] for t in store.get_tiles(REQUEST, tile_ids)]


def test_each_tile_of_a_batch_keeps_its_own_record_and_the_items_register_in_one_call(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert pipeline.ran == tile_ids and pipeline.published == [tile_ids]
    for record in store.get_tiles(REQUEST, tile_ids):
        assert record["status"] == TileStatus.PROCESSED and record["attempts"] == 1
        assert record["outputs"]["default"].endswith(f"T{record['id']}/default.tif")
        assert record["costPU"] > 0 and record["stacError"] is None
    assert not redis_client.scard(keys.unregistered_tiles(REQUEST))
    assert store.get_request(REQUEST)["status"] == RequestStatus.DONE
    assert store.progress(REQUEST)[-1][1:] == [3, 0]  # one progress point for the job, every tile counted


def test_a_transient_error_retries_only_that_tile(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    pipeline.behaviour[2] = ConnectionError("S3 endpoint unreachable")
    with pytest.raises(tiles.RetryLater, match="S3 endpoint unreachable"):
        tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert statuses(store, tile_ids) == ["PROCESSED", "PROCESSING", "PROCESSED"]
    assert store.get_tile(REQUEST, 2)["error"] == "S3 endpoint unreachable"

    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)  # rq's retry of the job
    assert pipeline.ran == [1, 2, 3, 2]
    assert store.get_tile(REQUEST, 2)["attempts"] == 2 and store.get_tile(REQUEST, 2)["error"] is None
    assert store.get_request(REQUEST)["status"] == RequestStatus.DONE


def test_a_user_error_fails_only_that_tile(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    pipeline.behaviour[2] = InvalidRequestError("item S2A_X has no asset 'B99' for band B99")
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert statuses(store, tile_ids) == ["PROCESSED", "FAILED", "PROCESSED"]
    assert "no asset 'B99'" in store.get_tile(REQUEST, 2)["error"]
    record = store.get_request(REQUEST)
    assert record["status"] == RequestStatus.PARTIAL and record["error"] == "1 of 3 tiles failed"


def test_a_cancel_between_tiles_gives_the_rest_of_the_batch_back(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 4)
    pipeline.behaviour[2] = lambda: store.transition(REQUEST, RequestStatus.CANCELED, [RequestStatus.PROCESSING])
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert pipeline.ran == [1, 2]
    # tile 2 was running when the cancel came and finished; 3 and 4 never started
    assert statuses(store, tile_ids) == ["PROCESSED", "PROCESSED", "PENDING", "PENDING"]


def test_a_timeout_fails_the_running_tile_and_requeues_the_rest(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 4)
    pipeline.behaviour[2] = JobTimeoutException("Task exceeded maximum timeout value (1800 seconds)")
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert pipeline.ran == [1, 2]
    assert statuses(store, tile_ids) == ["PROCESSED", "FAILED", "PENDING", "PENDING"]
    assert "maximum timeout" in store.get_tile(REQUEST, 2)["error"]
    assert control_queue(redis_client).job_ids == [keys.start_job_id(REQUEST)]  # START queues 3 and 4 again


def test_a_job_rq_gave_up_on_fails_the_tile_it_was_processing_and_requeues_the_untouched(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 4)
    for tile_id, status in zip(tile_ids, ("PROCESSED", "PROCESSING", "QUEUED", "QUEUED"), strict=True):
        store.set_tile_status(REQUEST, tile_id, TileStatus(status))
    tiles.job_failed(store, get_settings(), REQUEST, tile_ids, "Work-horse terminated unexpectedly (signal 9)")
    assert statuses(store, tile_ids) == ["PROCESSED", "FAILED", "PENDING", "PENDING"]
    assert store.get_tile(REQUEST, 2)["error"].startswith("Work-horse terminated")
    assert control_queue(redis_client).job_ids == [keys.start_job_id(REQUEST)]


def test_a_job_rq_gave_up_on_after_delivering_a_tile_does_not_fail_that_tile(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    statuses_ = ("PROCESSING", "PROCESSING", "QUEUED")  # 1 delivered (its job killed before the end), 2 running
    for tile_id, status in zip(tile_ids, statuses_, strict=True):
        store.set_tile_status(REQUEST, tile_id, TileStatus(status))
    store.update_tile_info(REQUEST, 1, attempts=1, finished="2024-05-01T00:00:00Z",
                           outputs={"default": f"s3://results/{REQUEST}/T1/default.tif"})
    store.update_tile_info(REQUEST, 2, attempts=1, finished=None, outputs=None)
    tiles.job_failed(store, get_settings(), REQUEST, tile_ids, "Task exceeded maximum timeout value (1800 seconds)")
    assert statuses(store, tile_ids) == ["PENDING", "FAILED", "PENDING"]

    fan_out_settings = Settings(tile_batch_seconds=0)
    assert fanout.fan_out(store, fan_out_settings, REQUEST) == 2  # what START does
    tiles.process_tiles(store, get_settings(), REQUEST, [1, 3])
    assert pipeline.ran == [3]  # tile 1 only registered and marked
    assert pipeline.published == [[1, 3]]
    assert statuses(store, tile_ids) == ["PROCESSED", "FAILED", "PROCESSED"]
    assert store.get_request(REQUEST)["status"] == RequestStatus.PARTIAL


def test_a_job_that_failed_before_any_tile_fails_its_tiles(redis_client, pipeline):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 2)
    for tile_id in tile_ids:
        store.set_tile_status(REQUEST, tile_id, TileStatus.QUEUED)
    tiles.job_failed(store, get_settings(), REQUEST, tile_ids, "ValueError: bad job")
    assert statuses(store, tile_ids) == ["FAILED", "FAILED"]  # no culprit to blame: nothing is queued again
    assert control_queue(redis_client).count == 0
    assert store.get_request(REQUEST)["status"] == RequestStatus.FAILED


def test_an_item_the_catalog_refuses_stays_for_the_registration_job(redis_client, pipeline, monkeypatch):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    monkeypatch.setattr(tiles, "publish_tiles", lambda settings, request_id, spec, delivered: {
        d.tile_id: ("HTTPStatusError: 503" if d.tile_id == 2 else None) for d in delivered})
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert statuses(store, tile_ids) == ["PROCESSED"] * 3
    assert store.get_tile(REQUEST, 2)["stacError"] == "HTTPStatusError: 503"
    assert store.get_tile(REQUEST, 1)["stacError"] is None
    assert redis_client.smembers(keys.unregistered_tiles(REQUEST)) == {b"2"}
    assert control_queue(redis_client).job_ids == [keys.register_job_id(REQUEST)]


def test_a_crash_before_the_end_of_the_job_costs_no_rework(redis_client, pipeline, monkeypatch):
    """Tiles become PROCESSED only after their items are registered at the end of the job; a work horse killed
    before that leaves them PROCESSING with their outputs recorded, and rq's retry of the job registers and marks
    them without running them again."""
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 2)

    def crash(*args: Any) -> None:
        raise SystemExit("work horse killed")

    monkeypatch.setattr(tiles, "publish_tiles", crash)
    with pytest.raises(SystemExit):
        tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert statuses(store, tile_ids) == ["PROCESSING", "PROCESSING"]
    assert store.get_request(REQUEST)["costPU"] == 0  # nothing billed yet

    monkeypatch.setattr(tiles, "publish_tiles", pipeline.publish_tiles)
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)  # rq's retry after the killed work horse
    assert pipeline.ran == tile_ids  # nothing ran twice
    assert pipeline.published == [tile_ids]
    assert statuses(store, tile_ids) == ["PROCESSED", "PROCESSED"]
    assert all(t["attempts"] == 1 for t in store.get_tiles(REQUEST, tile_ids))
    record = store.get_request(REQUEST)
    assert record["status"] == RequestStatus.DONE and record["costPU"] > 0


def test_a_tile_is_processed_only_once_its_item_is_registered(redis_client, pipeline, monkeypatch):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    seen: list[list[str]] = []

    def publish(settings: Any, request_id: str, spec: Any, delivered: list) -> dict[int, str | None]:
        seen.append(statuses(store, tile_ids))
        return pipeline.publish_tiles(settings, request_id, spec, delivered)

    monkeypatch.setattr(tiles, "publish_tiles", publish)
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert seen == [["PROCESSING"] * 3]
    assert statuses(store, tile_ids) == ["PROCESSED"] * 3


def test_the_registration_job_registers_the_waiting_items_and_clears_their_errors(redis_client, pipeline,
                                                                                 monkeypatch):
    store = Store(redis_client)
    tile_ids = small_tile_request(store, 3)
    monkeypatch.setattr(tiles, "publish_tiles", lambda settings, request_id, spec, delivered: {
        d.tile_id: "ConnectError: STAC API unreachable" for d in delivered})
    tiles.process_tiles(store, get_settings(), REQUEST, tile_ids)
    assert all(t["stacError"] for t in store.get_tiles(REQUEST, tile_ids))

    monkeypatch.setattr(tiles, "publish_tiles", pipeline.publish_tiles)  # the catalog is back
    assert tiles.register_results(store, get_settings(), REQUEST) == 0
    assert pipeline.published == [tile_ids]
    assert not any(t["stacError"] for t in store.get_tiles(REQUEST, tile_ids))
    assert not redis_client.scard(keys.unregistered_tiles(REQUEST))
