"""START: fan a request's PENDING tiles out to the tile queue, page by page, with deterministic job ids (one job
per tile, or per batch of small tiles: workers.batching)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from evalbatch import keys
from evalbatch.queues import FAILURE_TTL_S, tile_job_ids, tile_queue
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import PIPELINE_BATCH, Store
from workers.batching import BatchPolicy, plan_batches

TILE_JOB = "workers.jobs.process_tiles"
TILE_RESULT_TTL_S = 600
RETRY_INTERVALS_S = (5, 30, 120)
TIMEOUT_SAFETY_FACTOR = 5
LIVE_JOB_STATES = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def tile_job_timeout(record: dict[str, Any], settings: Settings) -> int:
    """Tile job timeout: the setting, raised to 5x the largest estimated tile time when that is longer. A batch
    of small tiles gets the same timeout: its estimated work is at most `tile_batch_seconds`, far below it."""
    estimate = record.get("estimate") or {}
    per_tile = float(estimate.get("perTileSeconds") or 0.0)
    return max(settings.tile_timeout_s, math.ceil(TIMEOUT_SAFETY_FACTOR * per_tile))


def tile_retry(settings: Settings) -> Retry | None:
    """rq retries for transient failures and killed work horses (None when retries are disabled)."""
    if settings.tile_retries < 1:
        return None
    intervals = list(RETRY_INTERVALS_S[: settings.tile_retries])
    return Retry(max=settings.tile_retries, interval=intervals)


def batch_policy(store: Store, settings: Settings, request_id: str, record: dict[str, Any]) -> BatchPolicy:
    """How this request's tiles are grouped into jobs, from its estimate and the settings."""
    estimate = record.get("estimate") or {}
    sample_id = estimate.get("sampleTileId")
    sample = store.get_tile(request_id, int(sample_id)) if sample_id is not None else None
    return BatchPolicy(
        sample_seconds=float(estimate.get("perTileSeconds") or 0.0),
        sample_scenes=int((sample or {}).get("sceneCount") or 0),
        max_seconds=settings.tile_batch_seconds,
        max_tiles=settings.tile_batch_max,
    )


@dataclass(frozen=True)
class JobOptions:
    """What every tile job of one fan-out shares."""

    timeout: int
    retry: Retry | None
    policy: BatchPolicy
    size_limit: int


def _pages(store: Store, request_id: str, status: TileStatus) -> Iterator[list[int]]:
    after: int | None = None
    while True:
        page = store.tile_ids(request_id, status, after, count=PIPELINE_BATCH)
        if not page:
            return
        yield page
        after = page[-1]


def _enqueue_page(queue: Queue, store: Store, request_id: str, tile_ids: list[int], options: JobOptions) -> int:
    scheduled = {
        t for t in tile_ids
        if store.set_tile_status(request_id, t, TileStatus.SCHEDULED,
                                 [TileStatus.PENDING, TileStatus.SCHEDULED, TileStatus.QUEUED]) is not None
    }
    if not scheduled:
        return 0
    tiles = store.get_tiles(request_id, sorted(scheduled))
    batches = list(plan_batches(tiles, options.policy, options.size_limit))
    jobs = [
        Queue.prepare_data(
            TILE_JOB,
            args=[request_id, batch],
            job_id=keys.tile_job_id(request_id, batch[0]),
            timeout=options.timeout,
            result_ttl=TILE_RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            retry=options.retry,
        )
        for batch in batches
    ]
    job_of_tile = {tile_id: job.job_id for job, batch in zip(jobs, batches, strict=True) for tile_id in batch}
    with store.redis.pipeline() as pipe:
        pipe.hset(keys.tile_jobs(request_id), mapping=job_of_tile)  # before the jobs: cancel and recovery read it
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    for tile_id in job_of_tile:
        store.set_tile_status(request_id, tile_id, TileStatus.QUEUED, [TileStatus.SCHEDULED])
    return len(job_of_tile)


def _job_live(store: Store, job_id: str) -> bool:
    """Whether the rq job `job_id` is still queued, deferred, scheduled or running."""
    try:
        job = Job.fetch(job_id, connection=store.redis, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in LIVE_JOB_STATES


def _orphans(store: Store, request_id: str, tile_ids: list[int]) -> list[int]:
    """The tiles among `tile_ids` whose job is gone (each job looked up once)."""
    job_of_tile = tile_job_ids(store.redis, request_id, tile_ids)
    alive = {job_id: _job_live(store, job_id) for job_id in set(job_of_tile.values())}
    return [t for t in tile_ids if not alive[job_of_tile[t]]]


def fan_out(store: Store, settings: Settings, request_id: str) -> int:
    """Enqueue every tile that needs a job: PENDING ones, and SCHEDULED/QUEUED ones whose job is gone
    (a resumed request); small tiles are grouped into batches (workers.batching). Returns the number of tiles
    queued."""
    record = store.get_request(request_id)
    if record is None or record.get("status") != RequestStatus.PROCESSING:
        return 0
    policy = batch_policy(store, settings, request_id, record)
    pending = store.tile_counts(request_id)[TileStatus.PENDING]
    options = JobOptions(
        timeout=tile_job_timeout(record, settings),
        retry=tile_retry(settings),
        policy=policy,
        size_limit=policy.size_limit(pending, settings.worker_count),
    )
    queue = tile_queue(store.redis)
    count = 0
    for page in _pages(store, request_id, TileStatus.PENDING):
        count += _enqueue_page(queue, store, request_id, page, options)
    for status in (TileStatus.SCHEDULED, TileStatus.QUEUED):
        for page in _pages(store, request_id, status):
            count += _enqueue_page(queue, store, request_id, _orphans(store, request_id, page), options)
    return count


def over_budget(record: dict[str, Any]) -> tuple[float, float] | None:
    """(estimate, budget) when the request's estimate exceeds its maxProcessingUnits, else None."""
    budget = JobSpec.from_dict(record["spec"]).max_processing_units
    estimate = (record.get("estimate") or {}).get("processingUnits")
    if budget is None or estimate is None or float(estimate) <= budget:
        return None
    return float(estimate), float(budget)
