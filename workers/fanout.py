"""START: fan a request's PENDING tiles out to the tile queue, page by page, with deterministic job ids."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from evalbatch import keys
from evalbatch.queues import FAILURE_TTL_S, tile_queue
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import PIPELINE_BATCH, Store

TILE_JOB = "workers.jobs.process_tile"
TILE_RESULT_TTL_S = 600
RETRY_INTERVALS_S = (5, 30, 120)
TIMEOUT_SAFETY_FACTOR = 5
LIVE_JOB_STATES = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def tile_job_timeout(record: dict[str, Any], settings: Settings) -> int:
    """Per-tile job timeout: the setting, raised to 5x the largest estimated tile time when that is longer."""
    estimate = record.get("estimate") or {}
    per_tile = float(estimate.get("perTileSeconds") or 0.0)
    return max(settings.tile_timeout_s, math.ceil(TIMEOUT_SAFETY_FACTOR * per_tile))


def tile_retry(settings: Settings) -> Retry | None:
    """rq retries for transient failures and killed work horses (None when retries are disabled)."""
    if settings.tile_retries < 1:
        return None
    intervals = list(RETRY_INTERVALS_S[: settings.tile_retries])
    return Retry(max=settings.tile_retries, interval=intervals)


def _pages(store: Store, request_id: str, status: TileStatus) -> Iterator[list[int]]:
    after: int | None = None
    while True:
        page = store.tile_ids(request_id, status, after, count=PIPELINE_BATCH)
        if not page:
            return
        yield page
        after = page[-1]


def _enqueue_page(queue: Queue, store: Store, request_id: str, tile_ids: list[int], timeout: int,
                  retry: Retry | None) -> int:
    scheduled = [
        t for t in tile_ids
        if store.set_tile_status(request_id, t, TileStatus.SCHEDULED,
                                 [TileStatus.PENDING, TileStatus.SCHEDULED, TileStatus.QUEUED]) is not None
    ]
    if not scheduled:
        return 0
    jobs = [
        Queue.prepare_data(
            TILE_JOB,
            args=[request_id, tile_id],
            job_id=keys.tile_job_id(request_id, tile_id),
            timeout=timeout,
            result_ttl=TILE_RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            retry=retry,
        )
        for tile_id in scheduled
    ]
    with store.redis.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    for tile_id in scheduled:
        store.set_tile_status(request_id, tile_id, TileStatus.QUEUED, [TileStatus.SCHEDULED])
    return len(scheduled)


def _has_live_job(store: Store, request_id: str, tile_id: int) -> bool:
    try:
        job = Job.fetch(keys.tile_job_id(request_id, tile_id), connection=store.redis, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in LIVE_JOB_STATES


def fan_out(store: Store, settings: Settings, request_id: str) -> int:
    """Enqueue every tile that needs a job: PENDING ones, and SCHEDULED/QUEUED ones whose job is gone
    (a resumed request). Returns the number of jobs enqueued."""
    record = store.get_request(request_id)
    if record is None or record.get("status") != RequestStatus.PROCESSING:
        return 0
    timeout = tile_job_timeout(record, settings)
    retry = tile_retry(settings)
    queue = tile_queue(store.redis)
    count = 0
    for page in _pages(store, request_id, TileStatus.PENDING):
        count += _enqueue_page(queue, store, request_id, page, timeout, retry)
    for status in (TileStatus.SCHEDULED, TileStatus.QUEUED):
        for page in _pages(store, request_id, status):
            orphans = [t for t in page if not _has_live_job(store, request_id, t)]
            count += _enqueue_page(queue, store, request_id, orphans, timeout, retry)
    return count


def over_budget(record: dict[str, Any]) -> tuple[float, float] | None:
    """(estimate, budget) when the request's estimate exceeds its maxProcessingUnits, else None."""
    budget = JobSpec.from_dict(record["spec"]).max_processing_units
    estimate = (record.get("estimate") or {}).get("processingUnits")
    if budget is None or estimate is None or float(estimate) <= budget:
        return None
    return float(estimate), float(budget)
