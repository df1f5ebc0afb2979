"""Recovery of work whose rq job was lost: after a Redis crash (the AOF keeps at most one second less than was
acknowledged), or when a worker died with the job it was running.

`recover(store, settings)` looks at every request that should be moving and re-creates what is missing:

- rq scheduler locks held by dead workers are deleted, so retries keep running;
- ANALYSING without a live analysis job: the analysis is queued again (deterministic job id);
- PROCESSING: tiles SCHEDULED / QUEUED / PROCESSING without a live tile job go back to PENDING and are
  fanned out again; when every tile is final already, the request is finalised;
- final with results items still unregistered and no live registration job: that job is queued again.

A QUEUED job is live while its id is in its queue; a STARTED one while its worker's rq key exists (not
marked dead) and, when the worker runs on this host, its process exists. Tiles are processed at least once: a
tile re-queued while a lost worker's horse still runs may run twice; both runs write the same deterministic
output under the same key.
Workers call `recover` when they start and whenever they reconnect to Redis.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from evalbatch import keys
from evalbatch.queues import (
    CONTROL_QUEUE,
    TILE_QUEUE,
    control_queue,
    enqueue_analyse,
    enqueue_register,
    tile_job_ids,
    tile_queue,
)
from evalbatch.settings import Settings
from evalbatch.states import FINAL_STATES, RequestStatus, TileStatus
from evalbatch.store import Store
from workers import fanout, tiles

log = logging.getLogger(__name__)

RQ_WORKER_KEY_PREFIX = "rq:worker:"
RQ_QUEUE_KEY_PREFIX = "rq:queue:"
ACCOUNT_INDEX_PATTERN = keys.account_requests("*", 0)[: -len("0:requests")] + "*:requests"


def worker_alive(store: Store, worker_name: str | None) -> bool:
    """Whether the rq worker `worker_name` is alive: its key exists without a death mark and, on this host,
    its process exists."""
    if not worker_name:
        return False
    hostname, pid, death = store.redis.hmget(RQ_WORKER_KEY_PREFIX + worker_name, "hostname", "pid", "death")
    if death is not None or (hostname is None and pid is None):
        return False
    if hostname is not None and hostname.decode() == socket.gethostname() and pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def queued_job_ids(store: Store) -> set[str]:
    """Ids of the jobs waiting in the control and tile queues (a job marked QUEUED may have been popped from
    its queue by a worker that died, or by Redis losing the last second of writes)."""
    return {*control_queue(store.redis).get_job_ids(), *tile_queue(store.redis).get_job_ids()}


def job_alive(store: Store, job_id: str, queued: set[str]) -> bool:
    """Whether the rq job will still run: in a queue, deferred / scheduled, or started by a live worker."""
    try:
        job = Job.fetch(job_id, connection=store.redis, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:  # the snapshot may predate the enqueue: ask the queue itself then
        return job_id in queued or store.redis.lpos(f"{RQ_QUEUE_KEY_PREFIX}{job.origin}", job_id) is not None
    if status in (JobStatus.DEFERRED, JobStatus.SCHEDULED):
        return True
    return status == JobStatus.STARTED and worker_alive(store, job.worker_name)


def active_request_ids(store: Store) -> Iterator[str]:
    """Ids of every request (all accounts, all API versions)."""
    seen: set[str] = set()
    for index in store.redis.scan_iter(match=ACCOUNT_INDEX_PATTERN, count=500):
        for raw in store.redis.zrange(index, 0, -1):
            request_id = raw.decode()
            if request_id not in seen:
                seen.add(request_id)
                yield request_id


def _release_orphaned_tiles(store: Store, request_id: str, queued: set[str]) -> int:
    released = 0
    for status in (TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING):
        tile_ids = list(store.iter_tile_ids(request_id, status))
        job_of_tile = tile_job_ids(store.redis, request_id, tile_ids)
        alive = {job_id: job_alive(store, job_id, queued) for job_id in set(job_of_tile.values())}
        for tile_id in tile_ids:
            lost = not alive[job_of_tile[tile_id]]
            # only from the status seen: a tile that moved on meanwhile (dequeued, finished) is left alone
            if lost and store.set_tile_status(request_id, tile_id, TileStatus.PENDING, [status]) is not None:
                released += 1
    return released


def _requeue_lost_registration(store: Store, request_id: str, queued: set[str]) -> int:
    """Queue the results registration of a final request again when items are missing and its job is gone."""
    if not store.redis.scard(keys.unregistered_tiles(request_id)):
        return 0
    if job_alive(store, keys.register_job_id(request_id), queued):
        return 0
    enqueue_register(store.redis, request_id)
    return 1


def recover_request(store: Store, settings: Settings, request_id: str, queued: set[str]) -> int:
    """Re-create the lost jobs of one request; returns how many jobs were queued again."""
    record = store.get_request(request_id)
    status = record.get("status") if record else None
    if status == RequestStatus.ANALYSING:
        if job_alive(store, keys.analyse_job_id(request_id), queued):
            return 0
        enqueue_analyse(store.redis, request_id)
        return 1
    if status in FINAL_STATES:
        return _requeue_lost_registration(store, request_id, queued)
    if status != RequestStatus.PROCESSING:
        return 0
    _release_orphaned_tiles(store, request_id, queued)
    count = fanout.fan_out(store, settings, request_id)
    tiles.finalize(store, settings, request_id)  # every tile was final already: the last one's finalisation was lost
    return count


def release_stale_scheduler_locks(store: Store) -> list[str]:
    """Delete the rq scheduler locks held by dead workers (a killed worker's lock would otherwise delay every
    retry until it expires and a live worker re-checks, minutes later); returns the queues freed."""
    freed = []
    for queue_name in (CONTROL_QUEUE, TILE_QUEUE):
        key = RQScheduler.get_locking_key(queue_name)
        holder = store.redis.get(key)
        if holder is not None and not worker_alive(store, holder.decode()):
            store.redis.delete(key)
            freed.append(queue_name)
    return freed


def recover(store: Store, settings: Settings) -> int:
    """Free dead schedulers' locks and recover every request; returns the number of jobs queued again (errors
    are logged, never raised)."""
    if freed := release_stale_scheduler_locks(store):
        log.warning("released the scheduler locks of dead workers on %s", ", ".join(freed))
    total = 0
    queued = queued_job_ids(store)
    for request_id in active_request_ids(store):
        try:
            total += recover_request(store, settings, request_id, queued)
        except Exception:
            log.exception("recovery of request %s failed", request_id)
    if total:
        log.warning("recovered %d lost job(s)", total)
    return total
