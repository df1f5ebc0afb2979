"""workers.recovery on a real Redis: which tiles count as lost, and that exactly those are queued again."""

from __future__ import annotations

import os
import socket

import pytest
import redis
from rq.job import JobStatus
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from support.batch_requests import put_processing_request

from evalbatch import keys
from evalbatch.queues import CONTROL_QUEUE, TILE_QUEUE, control_queue, tile_queue
from evalbatch.settings import get_settings
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store, utc_now
from ops.credentials import Credentials
from ops.ports import StackPorts, free_port
from ops.redis_service import RedisService
from ops.service_base import StackContext
from workers.fanout import TILE_JOB
from workers.launch import EvalbatchWorker, redis_run_id
from workers.recovery import RQ_WORKER_KEY_PREFIX, recover

REQUEST = "req-recovery"


@pytest.fixture
def store(redis_client, monkeypatch):
    url = redis_client.connection_pool.connection_kwargs
    monkeypatch.setenv("EVALBATCH_REDIS_URL", f"redis://{url['host']}:{url['port']}/0")
    get_settings.cache_clear()
    store = Store(redis_client)
    put_processing_request(store, REQUEST,
                           [{"id": i, "name": f"T{i}", "widthPx": 10, "heightPx": 10} for i in range(1, 6)])
    yield store
    get_settings.cache_clear()


def tile_job(store: Store, tile_id: int, status: TileStatus, job_status: JobStatus, worker: str | None = None,
             in_queue: bool = True) -> None:
    """A tile in `status` with its rq job in `job_status` (started by `worker`), in its queue or popped."""
    store.set_tile_status(REQUEST, tile_id, status)
    queue = tile_queue(store.redis)
    job = queue.enqueue(TILE_JOB, REQUEST, [tile_id], job_id=keys.tile_job_id(REQUEST, tile_id))
    job.set_status(job_status)
    if worker:
        store.redis.hset(job.key, "worker_name", worker)
    if not in_queue:
        store.redis.lrem(queue.key, 0, job.id)


def register_worker(store: Store, name: str, pid: int, dead: bool = False) -> None:
    fields = {"hostname": socket.gethostname(), "pid": pid}
    if dead:
        fields["death"] = utc_now()
    store.redis.hset(RQ_WORKER_KEY_PREFIX + name, mapping=fields)


def test_recover_requeues_exactly_the_lost_tiles(store):
    register_worker(store, "dead", os.getpid(), dead=True)
    register_worker(store, "live", os.getpid())
    tile_job(store, 1, TileStatus.PROCESSING, JobStatus.STARTED, worker="vanished", in_queue=False)
    tile_job(store, 2, TileStatus.QUEUED, JobStatus.QUEUED)  # waiting: alive
    tile_job(store, 3, TileStatus.QUEUED, JobStatus.QUEUED, in_queue=False)  # popped, then the pop was lost
    tile_job(store, 4, TileStatus.PROCESSING, JobStatus.STARTED, worker="dead", in_queue=False)
    tile_job(store, 5, TileStatus.PROCESSING, JobStatus.STARTED, worker="live", in_queue=False)

    assert recover(store, get_settings()) == 3

    statuses = {i: store.get_tile(REQUEST, i)["status"] for i in range(1, 6)}
    assert statuses == {1: TileStatus.QUEUED, 2: TileStatus.QUEUED, 3: TileStatus.QUEUED,
                        4: TileStatus.QUEUED, 5: TileStatus.PROCESSING}
    queued = tile_queue(store.redis).get_job_ids()
    assert sorted(queued) == sorted(keys.tile_job_id(REQUEST, i) for i in (1, 2, 3, 4))  # each once
    assert recover(store, get_settings()) == 0  # nothing more is lost


def test_recover_finalises_a_request_whose_last_finalisation_was_lost(store):
    for tile_id in range(1, 6):
        store.set_tile_status(REQUEST, tile_id, TileStatus.PROCESSED)
    assert recover(store, get_settings()) == 0
    assert store.get_request(REQUEST)["status"] == RequestStatus.DONE


def test_recover_frees_scheduler_locks_of_dead_workers_only(store):
    register_worker(store, "live", os.getpid())
    store.redis.set(RQScheduler.get_locking_key(CONTROL_QUEUE), "live")
    store.redis.set(RQScheduler.get_locking_key(TILE_QUEUE), "killed")  # no key left: SIGKILLed
    recover(store, get_settings())
    assert store.redis.get(RQScheduler.get_locking_key(CONTROL_QUEUE)) == b"live"
    assert store.redis.get(RQScheduler.get_locking_key(TILE_QUEUE)) is None


def test_a_worker_recovers_lost_jobs_once_it_sees_that_redis_restarted(tmp_path, monkeypatch):
    service = RedisService(StackContext(tmp_path, StackPorts(redis=free_port()), Credentials.generate()))
    service.start()
    try:
        monkeypatch.setenv("EVALBATCH_REDIS_URL", service.url)
        get_settings.cache_clear()
        connection = redis.Redis.from_url(service.url)
        store = Store(connection)
        put_processing_request(store, REQUEST, [{"id": 1, "name": "T1", "widthPx": 10, "heightPx": 10}])
        store.set_tile_status(REQUEST, 1, TileStatus.PROCESSING)  # its job's state was lost with the crash
        worker = EvalbatchWorker([TILE_QUEUE], connection=connection, serializer=JSONSerializer,
                                 redis_run_id=redis_run_id(connection))

        worker.heartbeat()  # same server: nothing to recover
        assert store.get_tile(REQUEST, 1)["status"] == TileStatus.PROCESSING

        service.stop()
        service.start()  # a new run id, same AOF
        worker.heartbeat()
        assert store.get_tile(REQUEST, 1)["status"] == TileStatus.QUEUED
        assert tile_queue(connection).get_job_ids() == [keys.tile_job_id(REQUEST, 1)]
        assert not worker.recover_if_redis_restarted()  # once per restart
        connection.close()
    finally:
        service.stop()
        get_settings.cache_clear()


def test_recover_queues_the_lost_results_registration_of_a_final_request(store):
    for tile_id in range(1, 6):
        store.set_tile_status(REQUEST, tile_id, TileStatus.PROCESSED)
    store.transition(REQUEST, RequestStatus.DONE)
    store.redis.sadd(keys.unregistered_tiles(REQUEST), 2)  # its registration job was lost with a crash
    assert recover(store, get_settings()) == 1
    assert control_queue(store.redis).get_job_ids() == [keys.register_job_id(REQUEST)]
    assert recover(store, get_settings()) == 0  # queued: alive
