"""rq entry points. They take only ids (JSON serializer) and delegate to the modules that do the work."""

from __future__ import annotations

import logging
from functools import cache

import redis
from redis.driver_info import DriverInfo

from evalbatch.settings import Settings, get_settings
from evalbatch.states import RequestStatus
from evalbatch.store import Store
from workers import analysis, fanout, tiles
from workers.errors import describe

log = logging.getLogger(__name__)


# CLIENT SETINFO metadata, built on import (before the rq fork): redis-py would otherwise read its version from
# the package metadata again for the client of every work horse
REDIS_DRIVER = DriverInfo()


@cache
def _store(redis_url: str) -> Store:
    return Store(redis.Redis.from_url(redis_url, driver_info=REDIS_DRIVER))


def context() -> tuple[Store, Settings]:
    """The store and settings of this process (created inside the work horse, after the fork)."""
    settings = get_settings()
    return _store(settings.redis_url), settings


def analyse_request(request_id: str) -> str | None:
    """ANALYSE job: tiles, estimate, then ANALYSIS_DONE / PROCESSING / FAILED."""
    store, settings = context()
    try:
        status = analysis.analyse(store, settings, request_id)
    except Exception as exc:
        log.exception("analysis of %s failed", request_id)
        store.transition(request_id, RequestStatus.FAILED, [RequestStatus.ANALYSING],
                         error=f"analysis failed: {describe(exc)}")
        return RequestStatus.FAILED.value
    return status.value if status else None


def start_processing(request_id: str) -> int:
    """START job: refuse when over budget, else fan the tiles out; returns the number of jobs enqueued."""
    store, settings = context()
    record = store.get_request(request_id)
    if record is None or record.get("status") != RequestStatus.PROCESSING:
        return 0
    exceeded = fanout.over_budget(record)
    if exceeded is not None:
        store.transition(request_id, RequestStatus.ANALYSIS_DONE, [RequestStatus.PROCESSING],
                         error=analysis.budget_message(*exceeded))
        return 0
    count = fanout.fan_out(store, settings, request_id)
    tiles.finalize(store, settings, request_id)  # nothing left to do (e.g. zero pending tiles)
    return count


def process_tiles(request_id: str, tile_ids: list[int]) -> None:
    """Tile job: one tile, or a batch of small ones (workers.batching)."""
    store, settings = context()
    tiles.process_tiles(store, settings, request_id, [int(t) for t in tile_ids])


def finalize_request(request_id: str) -> str | None:
    """Set the final status once every tile is final (also called by the last tile itself)."""
    store, settings = context()
    status = tiles.finalize(store, settings, request_id)
    return status.value if status else None


class RegistrationPending(RuntimeError):
    """Some results items could not be registered yet: rq retries the job later (backoff)."""


def register_results(request_id: str) -> int:
    """Register the results items a catalog outage left out; raises while some are still missing."""
    store, settings = context()
    missing = tiles.register_results(store, settings, request_id)
    if missing:
        raise RegistrationPending(f"{missing} results items of {request_id} are not registered yet")
    return 0


def tile_job_failed(request_id: str, tile_ids: list[int], message: str) -> None:
    """Called by the worker when rq gave up on a tile job (retries exhausted, horse killed, timeout)."""
    store, settings = context()
    tiles.job_failed(store, settings, request_id, [int(t) for t in tile_ids], message)


def tile_job_stopped(request_id: str, tile_ids: list[int]) -> None:
    """Called by the worker when a tile job was stopped (cancel): its tiles that are not final become PENDING."""
    store, _ = context()
    for tile_id in tile_ids:
        tiles.release(store, request_id, int(tile_id))
