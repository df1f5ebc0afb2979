"""Start an rq worker for evalbatch: `python -m workers.launch [--queues ...] [--burst]`.

Heavy modules are imported before `work()` so every forked work horse inherits them (infrastructure.md §3.1);
Redis connections, GDAL datasets, boto3 clients and V8 isolates are created inside the horse. The worker runs
the scheduler (needed for retries with intervals), uses the JSON serializer and serves the control queue
before the tile queue. When rq gives up on a tile job (retries exhausted, work horse killed, timeout) the
tile is marked FAILED with the reason; a stopped job (cancel) gives its tile back. The process memory is
capped at EVALBATCH_WORKER_MEMORY_LIMIT_BYTES (RLIMIT_DATA, see evaluator.limits), inherited by the horses.
"""

from __future__ import annotations

import argparse
import logging
import os
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
    "pystac_client",
    "py_mini_racer",
    "evaluator",
    "workers.pipeline",
    "workers.analysis",
    "workers.jobs",
)

log = logging.getLogger("workers.launch")


def preload() -> None:
    """Import the heavy modules once in the parent process."""
    import importlib

    for name in HEAVY_MODULES:
        importlib.import_module(name)


class EvalbatchWorker(Worker):
    """An rq forking worker that keeps the tile store consistent with rq's final verdict on tile jobs."""

    def handle_job_failure(self, job: Job, queue: Any, started_job_registry: Any = None, exc_string: str = ""):
        stopped = self._stopped_job_id == job.id
        super().handle_job_failure(job, queue, started_job_registry=started_job_registry, exc_string=exc_string)
        if job.func_name != TILE_JOB:
            return
        try:
            request_id, tile_id = job.args[0], int(job.args[1])
            from workers import jobs

            if stopped:
                jobs.tile_job_stopped(request_id, tile_id)
            elif job.get_status(refresh=True) == JobStatus.FAILED:
                reason = (exc_string or "").strip().splitlines()
                jobs.tile_job_failed(request_id, tile_id, reason[-1] if reason else "tile job failed")
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
    worker = EvalbatchWorker(
        args.queues,
        connection=connection,
        name=args.name,
        serializer=JSONSerializer,
        work_horse_killed_handler=horse_killed,
    )
    worker.work(burst=args.burst, with_scheduler=not args.no_scheduler, logging_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
