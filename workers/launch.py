"""Start an rq worker for evalbatch: `python -m workers.launch [--queues ...] [--burst]`.

Heavy modules are imported before `work()` so every forked work horse inherits them (infrastructure.md §3.1);
Redis connections, GDAL datasets, boto3 clients and V8 isolates are created inside the horse. The worker runs
the scheduler (needed for retries with intervals), uses the JSON serializer and serves the control queue
before the tile queue. When rq gives up on a tile job (retries exhausted, work horse killed, timeout) the
tile it was processing is marked FAILED with the reason (workers.tiles.job_failed); a stopped job (cancel)
gives its tiles back. The process memory is
capped at EVALBATCH_WORKER_MEMORY_LIMIT_BYTES (RLIMIT_DATA, see evaluator.limits), inherited by the horses.
When Redis goes away during a job the worker waits for it, re-queues lost jobs (workers.recovery) and starts over.
A Redis restart that no command noticed (redis-py retries through a quick one) is seen at the next heartbeat:
the server's run id changed, so the last second of writes may be gone and the worker runs the same recovery. An
idle worker wakes every IDLE_WAKE_UP_S to heartbeat.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import time
from typing import Any

import redis
from rq import Worker
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from evalbatch.queues import CONTROL_QUEUE, TILE_QUEUE
from evalbatch.settings import get_settings
from workers.fanout import TILE_JOB

HEAVY_MODULES = (
    "numpy",
    "scipy.ndimage",
    "rasterio",
    "rasterio.vrt",
    "rasterio.warp",
    "rio_cogeo.cogeo",
    "shapely",
    "pyproj",
    "boto3",
    "httpcore",
    "pystac_client",
    "py_mini_racer",
    "evaluator",
    "workers.pipeline",
    "workers.analysis",
    "workers.jobs",
)

log = logging.getLogger("workers.launch")
REDIS_WAIT_FIRST_S = 0.5
REDIS_WAIT_MAX_S = 10.0
IDLE_WAKE_UP_S = 10
MAINTENANCE_INTERVAL_S = 60  # rq restarts a dead scheduler (Redis outages kill it) only in its maintenance


def preload() -> None:
    """Import the heavy modules once in the parent process and build the clients and validators every work
    horse would otherwise build per tile."""
    import importlib

    for name in HEAVY_MODULES:
        importlib.import_module(name)
    from workers import prefork, results_stac

    prefork.warm_up()
    results_stac.prepare()
    freeze_inherited_objects()


def freeze_inherited_objects() -> None:
    """Move everything built so far out of the garbage collector's reach. A work horse inherits these objects
    copy-on-write; one full collection in the horse would otherwise walk and write to all of them (about 140 ms
    measured here, copying every page), for objects that live as long as the worker."""
    gc.collect()
    gc.freeze()


def redis_run_id(connection: redis.Redis) -> str:
    """The Redis server's run id: a new one after every restart."""
    return str(connection.info("server")["run_id"])


class EvalbatchWorker(Worker):
    """An rq forking worker that keeps the tile store consistent with rq's final verdict on tile jobs, and
    recovers lost jobs when it notices that Redis restarted."""

    def __init__(self, *args: Any, redis_run_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis_run_id = redis_run_id
        self.stop_requested = False

    def request_stop(self, signum: Any, frame: Any) -> None:
        """Warm shutdown (SIGTERM / SIGINT, rq's shutdown command): remember that the stop was asked for."""
        self.stop_requested = True
        super().request_stop(signum, frame)

    @property
    def dequeue_timeout(self) -> int:
        """Seconds an idle worker blocks on its queues before its next heartbeat (rq's default is minutes)."""
        return IDLE_WAKE_UP_S

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """rq's heartbeat (between jobs and while idle), then the Redis restart check (not inside a pipeline)."""
        super().heartbeat(timeout, pipeline=pipeline)
        if pipeline is None:
            self.recover_if_redis_restarted()

    def recover_if_redis_restarted(self) -> bool:
        """Run the recovery when the Redis server's run id changed since the last check; returns whether it
        ran. Each worker checks after its own job ended, so that job's final rq state is written by then."""
        try:
            run_id = redis_run_id(self.connection)
        except redis.exceptions.RedisError as exc:
            log.warning("Redis restart check skipped: %s", exc)
            return False
        if run_id == self.redis_run_id:
            return False
        restarted = self.redis_run_id is not None
        self.redis_run_id = run_id
        if restarted:
            log.warning("Redis restarted (new run id %s): recovering lost jobs", run_id)
            recover_lost_jobs(self.connection)
        return restarted

    def handle_job_failure(self, job: Job, queue: Any, started_job_registry: Any = None, exc_string: str = ""):
        stopped = self._stopped_job_id == job.id
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        if job.func_name != TILE_JOB:
            return
        try:
            request_id, tile_ids = job.args[0], [int(t) for t in job.args[1]]
            from workers import jobs

            if stopped:
                jobs.tile_job_stopped(request_id, tile_ids)
            elif job.get_status(refresh=True) == JobStatus.FAILED:
                reason = (exc_string or "").strip().splitlines()
                jobs.tile_job_failed(request_id, tile_ids, reason[-1] if reason else "tile job failed")
        except Exception:  # never let bookkeeping kill the worker
            log.exception("could not record the failure of job %s", job.id)


def horse_killed(job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    """Log the peak memory of a killed work horse (the OOM case)."""
    log.warning("work horse of %s killed (status %s), peak RSS %s kB", job.id, ret_val, rusage.ru_maxrss)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m workers.launch", description=__doc__.splitlines()[0])
    parser.add_argument("--queues", nargs="+", default=[CONTROL_QUEUE, TILE_QUEUE],
                        help="queues to serve, in priority order (default: control, then tiles)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", default=None, help="worker name (default: rq's)")
    parser.add_argument("--no-scheduler", action="store_true", help="do not run the rq scheduler")
    parser.add_argument("--log-level", default=os.environ.get("EVALBATCH_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one worker until stopped (or until the queues are empty with --burst)."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    preload()
    settings = get_settings()
    if settings.worker_memory_limit_bytes > 0:
        from evaluator.limits import apply_memory_limit

        apply_memory_limit(settings.worker_memory_limit_bytes)  # inherited by every work horse
    connection = redis.Redis.from_url(settings.redis_url)
    while True:
        wait_for_redis(connection)
        try:
            run_id = redis_run_id(connection)  # before the recovery: a restart during it is seen by the worker
        except redis.exceptions.ConnectionError:
            continue  # gone again: wait for it
        recover_lost_jobs(connection)
        worker = EvalbatchWorker(
            args.queues,
            connection=connection,
            name=args.name,
            serializer=JSONSerializer,
            work_horse_killed_handler=horse_killed,
            maintenance_interval=MAINTENANCE_INTERVAL_S,
            redis_run_id=run_id,
        )
        try:
            worker.work(burst=args.burst, with_scheduler=not args.no_scheduler, logging_level=args.log_level)
        except redis.exceptions.ConnectionError as exc:
            # rq survives Redis outages only while it waits for jobs; lost during a job, it raises. Start over
            # (a new worker registration) once Redis is back, after recovering the jobs the outage lost.
            log.warning("lost the connection to Redis (%s); reconnecting", exc)
            abandon(worker, connection)
            continue
        if args.burst or worker.stop_requested:
            return 0
        # rq's work loop also ends, logging "unhandled exception, quitting", on an error it caught itself (e.g.
        # Redis gone between the horse's end and the bookkeeping): a worker only ends when asked to.
        log.warning("rq's work loop ended without a stop request; starting over")
        abandon(worker, connection)


def abandon(worker: Worker, connection: redis.Redis) -> None:
    """End a worker that lost Redis mid-job: kill its work horse, wait for Redis, unregister the worker, so
    that recovery sees its job as lost and queues it again (a crash costs a retry)."""
    if worker.horse_pid:
        with contextlib.suppress(OSError):
            worker.kill_horse(signal.SIGKILL)
            os.waitpid(worker.horse_pid, 0)
    if worker.scheduler is not None:
        with contextlib.suppress(Exception):
            worker.stop_scheduler()  # the next worker runs its own; recovery frees the old one's locks
    wait_for_redis(connection)
    try:
        worker.register_death()
    except redis.exceptions.RedisError as exc:
        log.warning("could not unregister worker %s: %s", worker.name, exc)


def wait_for_redis(connection: redis.Redis) -> None:
    """Block until Redis answers (backoff up to REDIS_WAIT_MAX_S between attempts)."""
    delay = REDIS_WAIT_FIRST_S
    while True:
        try:
            connection.ping()
            return
        except redis.exceptions.ConnectionError:
            time.sleep(delay)
            delay = min(delay * 2, REDIS_WAIT_MAX_S)


def recover_lost_jobs(connection: redis.Redis) -> None:
    """Re-queue the jobs a Redis crash or a dead worker lost (workers.recovery); never fails the start."""
    from evalbatch.store import Store
    from workers.recovery import recover

    try:
        recover(Store(connection), get_settings())
    except redis.exceptions.RedisError as exc:
        log.warning("recovery of lost jobs skipped: %s", exc)


if __name__ == "__main__":
    raise SystemExit(main())
