"""rq queue names and the enqueue calls the API makes (by dotted path, so the API never imports workers)."""

from __future__ import annotations

import redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from evalbatch import keys

CONTROL_QUEUE = "evalbatch-control"  # analyse, start (fan-out), finalize
TILE_QUEUE = "evalbatch-tiles"
CONTROL_JOB_TIMEOUT_S = 3600
CONTROL_RESULT_TTL_S = 600
FAILURE_TTL_S = 7 * 24 * 3600

ANALYSE_JOB = "workers.jobs.analyse_request"
START_JOB = "workers.jobs.start_processing"
REGISTER_JOB = "workers.jobs.register_results"
# a catalog outage can last: retry the results registration for about an hour in all
REGISTER_RETRY_INTERVALS_S = (10, 20, 40, 60, 120, 300, 600, 900, 1800)


def control_queue(client: redis.Redis) -> Queue:
    """The queue of control jobs (they never wait behind tiles)."""
    return Queue(CONTROL_QUEUE, connection=client, serializer=JSONSerializer)


def tile_queue(client: redis.Redis) -> Queue:
    """The queue of tile jobs."""
    return Queue(TILE_QUEUE, connection=client, serializer=JSONSerializer)


def _enqueue_control(client: redis.Redis, func: str, request_id: str, job_id: str, retry: Retry | None = None) -> None:
    """Queue a control job of one request under its deterministic id (re-enqueueing replaces it)."""
    control_queue(client).enqueue(
        func,
        request_id,
        job_id=job_id,
        job_timeout=CONTROL_JOB_TIMEOUT_S,
        result_ttl=CONTROL_RESULT_TTL_S,
        failure_ttl=FAILURE_TTL_S,
        retry=retry,
    )


def enqueue_analyse(client: redis.Redis, request_id: str) -> None:
    """Queue the analysis of a request."""
    _enqueue_control(client, ANALYSE_JOB, request_id, keys.analyse_job_id(request_id))


def enqueue_start(client: redis.Redis, request_id: str) -> None:
    """Queue the job that fans out a request's PENDING tiles (also used to resume and to restart)."""
    _enqueue_control(client, START_JOB, request_id, keys.start_job_id(request_id))


def enqueue_register(client: redis.Redis, request_id: str) -> None:
    """Queue the job that registers the results items of tiles whose registration failed (retried with backoff
    while the catalog still refuses)."""
    retry = Retry(max=len(REGISTER_RETRY_INTERVALS_S), interval=list(REGISTER_RETRY_INTERVALS_S))
    _enqueue_control(client, REGISTER_JOB, request_id, keys.register_job_id(request_id), retry)


def tile_job_ids(client: redis.Redis, request_id: str, tile_ids: list[int]) -> dict[int, str]:
    """The id of the rq job that runs each tile (recorded when the tile was queued; a tile never queued maps to
    the id its own one-tile job would have)."""
    if not tile_ids:
        return {}
    recorded = client.hmget(keys.tile_jobs(request_id), tile_ids)
    return {
        tile_id: raw.decode() if raw is not None else keys.tile_job_id(request_id, tile_id)
        for tile_id, raw in zip(tile_ids, recorded, strict=True)
    }


def cancel_jobs(client: redis.Redis, request_id: str, tile_ids: list[int]) -> None:
    """Cancel the queued tile jobs of a request and stop the running ones (each job once, whatever the number
    of `tile_ids` it runs).

    Tile code also checks the request status between strips and between the tiles of a batch, so a job that is
    missed here still ends soon.
    """
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job, JobStatus

    for job_id in dict.fromkeys(tile_job_ids(client, request_id, tile_ids).values()):
        try:
            job = Job.fetch(job_id, connection=client, serializer=JSONSerializer)
        except NoSuchJobError:
            continue
        status = job.get_status(refresh=False)
        try:
            if status == JobStatus.STARTED:
                send_stop_job_command(client, job_id, serializer=JSONSerializer)
            elif status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
                job.cancel()
        except (InvalidJobOperation, NoSuchJobError):
            continue
