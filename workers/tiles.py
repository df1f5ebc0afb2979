"""Running one tile job: tile status, run record, retries, cost, progress, and the finalisation of the
request by whichever tile finishes last."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from evalbatch import keys
from evalbatch.objectstore import S3Credentials
from evalbatch.queues import enqueue_register
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.states import RequestStatus, StoppedReason, TileStatus, after_tiles
from evalbatch.store import Store, utc_now
from workers import scene_cache
from workers.costs import billed_share, tile_cost
from workers.errors import CancelledError, describe, is_transient
from workers.execution_db import UPLOAD_EVERY_TILES, upload_execution_db
from workers.pipeline import run_tile
from workers.results_stac import publish_tile

log = logging.getLogger(__name__)

RUNNABLE_FROM = (TileStatus.PENDING, TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING)
COST_FIELD = "costPU"


def status_checker(store: Store, request_id: str) -> Callable[[], None]:
    """A callable raising CancelledError once the request is no longer PROCESSING."""

    def check() -> None:
        raw = store.redis.hget(keys.request(request_id), "status")
        if raw is None or json.loads(raw) != RequestStatus.PROCESSING:
            raise CancelledError(f"request {request_id} is no longer PROCESSING")

    return check


def _add_cost(store: Store, request_id: str, amount: float) -> float:
    return float(store.redis.hincrbyfloat(keys.request(request_id), COST_FIELD, amount))


def _cost_so_far(store: Store, request_id: str) -> float:
    raw = store.redis.hget(keys.request(request_id), COST_FIELD)
    return float(raw) if raw else 0.0


def release(store: Store, request_id: str, tile_id: int) -> None:
    """Give a tile back (cancel, budget): it becomes PENDING so a resume picks it up again."""
    store.set_tile_status(request_id, tile_id, TileStatus.PENDING, RUNNABLE_FROM)


def process_tile(store: Store, settings: Settings, request_id: str, tile_id: int) -> None:
    """Run one tile; user errors fail it at once, transient errors are re-raised for rq to retry."""
    record = store.get_request(request_id)
    if record is None:
        return
    if record.get("status") != RequestStatus.PROCESSING:
        release(store, request_id, tile_id)
        return
    if store.set_tile_status(request_id, tile_id, TileStatus.PROCESSING, RUNNABLE_FROM) is None:
        return  # final already (a duplicate job) or gone
    tile = store.get_tile(request_id, tile_id)
    if tile is None:
        return
    spec = JobSpec.from_dict(record["spec"])
    attempts = int(tile.get("attempts", 0)) + 1
    store.update_tile_info(request_id, tile_id, attempts=attempts, started=utc_now(), finished=None, error=None,
                           pid=os.getpid())
    if _stop_if_out_of_budget(store, request_id, tile_id, spec, tile):
        return
    creds = S3Credentials.from_settings(settings)
    secrets = store.get_secrets(request_id)
    try:
        result = run_tile(
            spec, tile, request_id, settings, creds=creds,
            delivery=creds.with_secrets(secrets) if secrets else None,
            check_continue=status_checker(store, request_id),
            scenes=partial(scene_cache.scenes_for_tile, store.redis, request_id, tile_id, settings.stac_url),
        )
    except CancelledError:
        release(store, request_id, tile_id)
        return
    except Exception as exc:
        if is_transient(exc) and attempts <= settings.tile_retries:
            store.update_tile_info(request_id, tile_id, error=describe(exc))
            raise
        log.info("tile %s of %s failed: %s", tile_id, request_id, exc)
        fail_tile(store, settings, request_id, tile_id, describe(exc))
        return
    pu = tile_cost(tile, result.bands, result.sample_types, result.samples)
    stac_error = publish_tile(settings, request_id, spec, tile, result.outputs, result.scenes)
    store.update_tile_info(
        request_id, tile_id,
        finished=utc_now(), seconds=round(result.seconds, 3), peakMemoryBytes=result.peak_memory_bytes,
        bytesRead=result.bytes_read, bytesWritten=result.bytes_written, scenes=result.scenes,
        assetsRead=result.assets_read,
        outputs=result.outputs, skipped=result.skipped, error=None, costPU=round(pu, 4), stacError=stac_error,
    )
    if stac_error is not None:
        store.redis.sadd(keys.unregistered_tiles(request_id), tile_id)  # registered later (register_results)
    if store.set_tile_status(request_id, tile_id, TileStatus.PROCESSED, [TileStatus.PROCESSING]) is None:
        return  # another run of the same tile (at-least-once after a crash) finished it: billed once
    if not result.skipped:
        _add_cost(store, request_id, billed_share(tile, pu))
    tile_finished(store, settings, request_id)


def _stop_if_out_of_budget(
    store: Store, request_id: str, tile_id: int, spec: JobSpec, tile: dict[str, Any]
) -> bool:
    budget = spec.max_processing_units
    if budget is None:
        return False
    share = billed_share(tile, float(tile.get("cost", 0.0)))
    spent = _cost_so_far(store, request_id)
    if spent + share <= budget:
        return False
    store.transition(
        request_id, RequestStatus.CANCELED, [RequestStatus.PROCESSING],
        stoppedStatusReason=StoppedReason.OUT_OF_PU.value,
        error=f"processing stopped: {spent:.2f} PU billed, the next tile would exceed maxProcessingUnits {budget:g}",
    )
    release(store, request_id, tile_id)
    return True


def fail_tile(store: Store, settings: Settings, request_id: str, tile_id: int, message: str) -> None:
    """Mark a tile FAILED for good with `message` and finalise the request if it was the last one."""
    moved = store.set_tile_status(request_id, tile_id, TileStatus.FAILED, RUNNABLE_FROM)
    if moved is None:
        return
    store.update_tile_info(request_id, tile_id, error=message, finished=utc_now())
    tile_finished(store, settings, request_id)


def tile_finished(store: Store, settings: Settings, request_id: str) -> None:
    """Progress point, periodic execution DB, and finalisation when every tile is final."""
    store.record_progress(request_id)
    record = store.get_request(request_id)
    if record is None:
        return
    counts = store.tile_counts(request_id)
    done = counts[TileStatus.PROCESSED] + counts[TileStatus.FAILED]
    if done >= int(record.get("tileCount") or 0):
        finalize(store, settings, request_id)
    elif done % UPLOAD_EVERY_TILES == 0:
        _upload_execution_db(store, settings, request_id, record)


def finalize(store: Store, settings: Settings, request_id: str) -> RequestStatus | None:
    """Set DONE / PARTIAL / FAILED once every tile is final (idempotent: only from PROCESSING)."""
    record = store.get_request(request_id)
    if record is None:
        return None
    counts = store.tile_counts(request_id)
    processed, failed = counts[TileStatus.PROCESSED], counts[TileStatus.FAILED]
    if processed + failed < int(record.get("tileCount") or 0):
        return None
    final = after_tiles(processed, failed)
    fields: dict[str, Any] = {}
    if final is not RequestStatus.DONE:
        fields["error"] = f"{failed} of {processed + failed} tiles failed"
    if not store.transition(request_id, final, [RequestStatus.PROCESSING], **fields):
        return None
    _upload_execution_db(store, settings, request_id, record)
    if store.redis.scard(keys.unregistered_tiles(request_id)):
        enqueue_register(store.redis, request_id)
    return final


def register_results(store: Store, settings: Settings, request_id: str) -> int:
    """Register the results items that failed when their tiles finished (a catalog outage); returns how many are
    still missing (their tiles keep `stacError`)."""
    record = store.get_request(request_id)
    if record is None:
        return 0
    spec = JobSpec.from_dict(record["spec"])
    missing = 0
    for raw in store.redis.smembers(keys.unregistered_tiles(request_id)):
        tile_id = int(raw)
        tile = store.get_tile(request_id, tile_id)
        if tile is None or tile.get("status") != TileStatus.PROCESSED:
            store.redis.srem(keys.unregistered_tiles(request_id), tile_id)
            continue
        error = publish_tile(settings, request_id, spec, tile, tile.get("outputs") or {}, tile.get("scenes") or [])
        store.update_tile_info(request_id, tile_id, stacError=error)
        if error is None:
            store.redis.srem(keys.unregistered_tiles(request_id), tile_id)
        else:
            missing += 1
    return missing


def _upload_execution_db(store: Store, settings: Settings, request_id: str, record: dict[str, Any]) -> None:
    spec = JobSpec.from_dict(record["spec"])
    if spec.api_version != 2 or not spec.delivery_root:
        return
    try:
        upload_execution_db(store, settings, request_id, spec.delivery_root)
    except Exception as exc:  # the database is informative; never fail a tile for it
        log.warning("execution database upload for %s failed: %s", request_id, exc)
