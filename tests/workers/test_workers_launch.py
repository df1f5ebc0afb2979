"""The worker's bookkeeping when rq gives up on a tile job, and the launcher's command line."""

from __future__ import annotations

import contextlib
import gc
import signal

import redis
from rq.exceptions import StopRequested
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from support.batch_requests import put_processing_request

from evalbatch import keys
from evalbatch.queues import CONTROL_QUEUE, TILE_QUEUE, tile_queue
from evalbatch.settings import get_settings
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from workers.fanout import TILE_JOB
from workers.launch import EvalbatchWorker, freeze_inherited_objects, main, parse_args
from workers.recovery import RQ_WORKER_KEY_PREFIX


def test_final_failure_of_a_tile_job_fails_the_tile_and_finalises(redis_client, monkeypatch):
    url = redis_client.connection_pool.connection_kwargs
    monkeypatch.setenv("EVALBATCH_REDIS_URL", f"redis://{url['host']}:{url['port']}/0")
    get_settings.cache_clear()
    store = Store(redis_client)
    put_processing_request(store, "req", [{"id": 7, "name": "T7", "widthPx": 10, "heightPx": 10}])
    store.set_tile_status("req", 7, TileStatus.PROCESSING)
    queue = tile_queue(redis_client)
    job = queue.enqueue(TILE_JOB, "req", [7], job_id=keys.tile_job_id("req", 7))
    job.set_status(JobStatus.STARTED)
    worker = EvalbatchWorker([queue], connection=redis_client, serializer=JSONSerializer)
    worker.handle_job_failure(job, queue, exc_string="Traceback...\nWork-horse terminated unexpectedly; "
                                                     "waitpid returned 9 (signal 9)")
    tile = store.get_tile("req", 7)
    assert tile["status"] == TileStatus.FAILED
    assert tile["error"].startswith("Work-horse terminated unexpectedly")
    assert store.get_request("req")["status"] == RequestStatus.FAILED
    get_settings.cache_clear()


def test_command_line_defaults():
    args = parse_args([])
    assert args.queues == [CONTROL_QUEUE, TILE_QUEUE] and not args.burst and not args.no_scheduler
    assert parse_args(["--queues", TILE_QUEUE, "--burst"]).queues == [TILE_QUEUE]


def test_the_launcher_starts_a_new_worker_when_rqs_loop_quits_without_a_stop_request(redis_server, monkeypatch):
    """rq's work loop returns (logging "unhandled exception, quitting") on errors it caught itself, e.g. Redis
    gone between the horse's end and the bookkeeping; the launcher must serve on, until asked to stop."""
    monkeypatch.setenv("EVALBATCH_REDIS_URL", redis_server.url)
    get_settings.cache_clear()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers: list[EvalbatchWorker] = []

    def work(self: EvalbatchWorker, **_: object) -> bool:
        workers.append(self)
        self.register_birth()
        if len(workers) == 2:  # the second worker is stopped the way SIGTERM stops it
            with contextlib.suppress(StopRequested):
                self.request_stop(signal.SIGTERM, None)
        return False

    monkeypatch.setattr(EvalbatchWorker, "work", work)
    try:
        assert main(["--no-scheduler"]) == 0
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        get_settings.cache_clear()
    assert len(workers) == 2 and workers[0].name != workers[1].name
    connection = redis.Redis.from_url(redis_server.url)
    assert connection.hget(RQ_WORKER_KEY_PREFIX + workers[0].name, "death") is not None  # unregistered
    connection.close()


def test_objects_built_before_the_fork_are_frozen_out_of_the_collector():
    try:
        freeze_inherited_objects()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
