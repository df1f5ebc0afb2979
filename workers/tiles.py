"""Running one tile job (one tile, or a batch of small ones): tile status, run record, retries, cost, results
items, progress, and the finalisation of the request by whichever job finishes its last tile."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from rq.timeouts import JobTimeoutException

from evalbatch import keys
from evalbatch.objectstore import S3Credentials
from evalbatch.queues import enqueue_register, enqueue_start
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.states import RequestStatus, StoppedReason, TileStatus, after_tiles
from evalbatch.store import Store, utc_now
from workers import scene_cache
from workers.costs import billed_share, tile_cost
from workers.errors import CancelledError, describe, is_transient
from workers.execution_db import UPLOAD_EVERY_TILES, upload_execution_db
from workers.pipeline import run_tile
from workers.results_stac import DeliveredTile, publish_tiles

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


class RetryLater(RuntimeError):
    """Some tiles of a job hit transient errors and have attempts left: rq retries the job (with backoff), and
    the retry runs only the tiles that are not final yet."""


@dataclass(frozen=True)
class Delivered:
    """A tile whose outputs are written, waiting for the end of its job to be registered and marked PROCESSED."""

    tile: DeliveredTile
    cost: float  # its billed share (0 when skipped)


@dataclass
class JobRun:
    """What the tiles of one job share (the request's spec, storage credentials and cancel check) and what they
    leave for the end of the job: delivered tiles, tiles that failed and the first transient error."""

    spec: JobSpec
    check_continue: Callable[[], None]
    creds: S3Credentials
    delivery: S3Credentials | None  # the request's own delivery credentials (v2), if any
    delivered: list[Delivered] = field(default_factory=list)
    finished: int = 0
    retry: BaseException | None = None

    @property
    def pending_cost(self) -> float:
        """PU of the delivered tiles not billed yet."""
        return sum(d.cost for d in self.delivered)


def process_tiles(store: Store, settings: Settings, request_id: str, tile_ids: list[int]) -> None:
    """Run the tiles of one job in order, each with its own status, attempts, error and cost. User errors fail
    a tile at once; a transient error leaves the tile for the job's retry (RetryLater once the other tiles are
    done). A cancel (or an exhausted budget) gives the remaining tiles back. At the end the results items of the
    delivered tiles are registered in one call, then those tiles become PROCESSED (so a PROCESSED tile has its
    item) and are billed, and the request is finalised if its last tile was here."""
    record = store.get_request(request_id)
    if record is None:
        return
    creds = S3Credentials.from_settings(settings)
    secrets = store.get_secrets(request_id)
    run = JobRun(spec=JobSpec.from_dict(record["spec"]), check_continue=status_checker(store, request_id),
                 creds=creds, delivery=creds.with_secrets(secrets) if secrets else None)
    try:
        for index, tile_id in enumerate(tile_ids):
            try:
                run.check_continue()
                _run_one(store, settings, request_id, tile_id, run)
            except CancelledError:
                for rest in tile_ids[index:]:
                    release(store, request_id, rest)
                break
            except JobTimeoutException:  # the job's time is up: a running tile failed, the rest get a new job
                _requeue(store, request_id, tile_ids[index:])  # (a FAILED tile is not released)
                break
    finally:
        _complete_delivered(store, settings, request_id, run)
        tiles_finished(store, settings, request_id, run.finished)
    if run.retry is not None:
        raise RetryLater(describe(run.retry)) from run.retry


def delivered_earlier(tile: dict[str, Any]) -> bool:
    """Whether an earlier run delivered this tile that is not final (a job killed between the delivery and the
    end of the job): its run record has the outputs and end time of that run (a new attempt clears both)."""
    return tile.get("finished") is not None and tile.get("outputs") is not None


def _run_one(store: Store, settings: Settings, request_id: str, tile_id: int, run: JobRun) -> None:
    if store.set_tile_status(request_id, tile_id, TileStatus.PROCESSING, RUNNABLE_FROM) is None:
        return  # final already (a duplicate job, a retried batch) or gone
    tile = store.get_tile(request_id, tile_id)
    if tile is None:
        return
    if delivered_earlier(tile):  # only its registration and PROCESSED mark were lost: no rework
        cost = 0.0 if tile.get("skipped") else billed_share(tile, float(tile.get("costPU") or 0.0))
        run.delivered.append(Delivered(DeliveredTile(tile, tile["outputs"], tile.get("scenes") or []), cost))
        return
    attempts = int(tile.get("attempts", 0)) + 1
    store.update_tile_info(request_id, tile_id, attempts=attempts, started=utc_now(), finished=None, error=None,
                           outputs=None, pid=os.getpid())
    if _stop_if_out_of_budget(store, request_id, tile_id, run.spec, tile, run.pending_cost):
        return
    try:
        result = run_tile(
            run.spec, tile, request_id, settings, creds=run.creds, delivery=run.delivery,
            check_continue=run.check_continue,
            scenes=partial(scene_cache.scenes_for_tile, store.redis, request_id, tile_id, settings.stac_url),
        )
    except CancelledError:
        release(store, request_id, tile_id)
        return
    except JobTimeoutException as exc:
        run.finished += _mark_failed(store, request_id, tile_id, describe(exc))
        raise
    except Exception as exc:
        if is_transient(exc) and attempts <= settings.tile_retries:
            store.update_tile_info(request_id, tile_id, error=describe(exc))
            run.retry = run.retry or exc
            return
        log.info("tile %s of %s failed: %s", tile_id, request_id, exc)
        run.finished += _mark_failed(store, request_id, tile_id, describe(exc))
        return
    pu = tile_cost(tile, result.bands, result.sample_types, result.samples)
    store.update_tile_info(
        request_id, tile_id,
        finished=utc_now(), seconds=round(result.seconds, 3), peakMemoryBytes=result.peak_memory_bytes,
        bytesRead=result.bytes_read, bytesWritten=result.bytes_written, scenes=result.scenes,
        assetsRead=result.assets_read,
        outputs=result.outputs, skipped=result.skipped, error=None, costPU=round(pu, 4), stacError=None,
    )
    cost = 0.0 if result.skipped else billed_share(tile, pu)
    run.delivered.append(Delivered(DeliveredTile(tile, result.outputs, result.scenes), cost))


def _complete_delivered(store: Store, settings: Settings, request_id: str, run: JobRun) -> None:
    """Register the results items of the job's delivered tiles in one call, then mark each PROCESSED and bill
    it. An item the catalog refused leaves `stacError` on its tile and the tile in the request's unregistered
    set (register_results takes it once the request is final)."""
    if not run.delivered:
        return
    items = [d.tile for d in run.delivered]
    errors = publish_tiles(settings, request_id, run.spec, items)
    _record_registration(store, request_id, items, errors)
    for delivered in run.delivered:
        if store.set_tile_status(request_id, delivered.tile.tile_id, TileStatus.PROCESSED,
                                 [TileStatus.PROCESSING]) is None:
            continue  # another run of the same tile (at-least-once after a crash) finished it: billed once
        if delivered.cost:
            _add_cost(store, request_id, delivered.cost)
        run.finished += 1
    run.delivered.clear()


def _record_registration(
    store: Store, request_id: str, tiles: list[DeliveredTile], errors: dict[int, str | None]
) -> None:
    """Keep `stacError` and the unregistered set in line with a registration's outcome."""
    registered = [tile_id for tile_id, error in errors.items() if error is None]
    failed = [tile_id for tile_id, error in errors.items() if error is not None]
    if registered:
        store.redis.srem(keys.unregistered_tiles(request_id), *registered)
    if failed:
        store.redis.sadd(keys.unregistered_tiles(request_id), *failed)
    for tile in tiles:
        error = errors[tile.tile_id]
        if error is not None or tile.tile.get("stacError"):  # a new error, or one recorded before to clear
            store.update_tile_info(request_id, tile.tile_id, stacError=error)


def _stop_if_out_of_budget(
    store: Store, request_id: str, tile_id: int, spec: JobSpec, tile: dict[str, Any], pending: float
) -> bool:
    budget = spec.max_processing_units
    if budget is None:
        return False
    share = billed_share(tile, float(tile.get("cost", 0.0)))
    spent = _cost_so_far(store, request_id) + pending  # with this job's tiles not billed yet
    if spent + share <= budget:
        return False
    store.transition(
        request_id, RequestStatus.CANCELED, [RequestStatus.PROCESSING],
        stoppedStatusReason=StoppedReason.OUT_OF_PU.value,
        error=f"processing stopped: {spent:.2f} PU billed, the next tile would exceed maxProcessingUnits {budget:g}",
    )
    release(store, request_id, tile_id)
    return True


def _mark_failed(store: Store, request_id: str, tile_id: int, message: str) -> int:
    """Mark a tile FAILED for good with `message`; returns 1 if it moved, 0 if it was final already or gone."""
    if store.set_tile_status(request_id, tile_id, TileStatus.FAILED, RUNNABLE_FROM) is None:
        return 0
    store.update_tile_info(request_id, tile_id, error=message, finished=utc_now())
    return 1


def fail_tile(store: Store, settings: Settings, request_id: str, tile_id: int, message: str) -> None:
    """Mark a tile FAILED for good with `message` and finalise the request if it was the last one."""
    tiles_finished(store, settings, request_id, _mark_failed(store, request_id, tile_id, message))


def job_failed(store: Store, settings: Settings, request_id: str, tile_ids: list[int], message: str) -> None:
    """rq gave up on a tile job (retries exhausted, horse killed, timeout). The tile it was processing fails
    with `message`; the tiles it never reached, and the ones it delivered without reaching the end of the job,
    go back to PENDING and START queues them again (a delivered tile is then only registered and marked).
    When no tile was processing (the job failed around the tiles) every tile that is not final fails."""
    records = {int(t["id"]): t for t in store.get_tiles(request_id, tile_ids)}
    processing = [t for t in records.values() if t["status"] == TileStatus.PROCESSING]
    culprits = [int(t["id"]) for t in processing if not delivered_earlier(t)]
    requeued = [int(t["id"]) for t in processing if delivered_earlier(t)]
    if culprits or requeued:
        requeued += [i for i, t in records.items() if t["status"] in (TileStatus.SCHEDULED, TileStatus.QUEUED)]
    failing = culprits if culprits or requeued else [i for i, t in records.items() if t["status"] in RUNNABLE_FROM]
    finished = sum(_mark_failed(store, request_id, tile_id, message) for tile_id in failing)
    tiles_finished(store, settings, request_id, finished)
    _requeue(store, request_id, sorted(requeued))


def _requeue(store: Store, request_id: str, tile_ids: list[int]) -> None:
    """Give tiles a job was not able to run back (PENDING) and let START queue them again."""
    for tile_id in tile_ids:
        release(store, request_id, tile_id)
    if tile_ids:
        enqueue_start(store.redis, request_id)


def tiles_finished(store: Store, settings: Settings, request_id: str, count: int) -> None:
    """After `count` tiles became final: progress point, periodic execution DB, and finalisation when every tile
    is final (checked even with `count` 0: a retried job may find its tiles final and the request not yet)."""
    record = store.get_request(request_id)
    if record is None:
        return
    counts = store.tile_counts(request_id)
    done = counts[TileStatus.PROCESSED] + counts[TileStatus.FAILED]
    if count:
        store.record_progress(request_id, counts)
    if done >= int(record.get("tileCount") or 0):
        finalize(store, settings, request_id)
    elif count and done // UPLOAD_EVERY_TILES != (done - count) // UPLOAD_EVERY_TILES:
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
    """Register the results items that failed when their tiles finished (a catalog outage, a crash before the
    registration); returns how many are still missing (their tiles keep `stacError`)."""
    record = store.get_request(request_id)
    if record is None:
        return 0
    spec = JobSpec.from_dict(record["spec"])
    waiting = sorted(int(raw) for raw in store.redis.smembers(keys.unregistered_tiles(request_id)))
    delivered = []
    for tile in store.get_tiles(request_id, waiting):
        if tile.get("status") == TileStatus.PROCESSED and tile.get("outputs"):
            delivered.append(DeliveredTile(tile, tile["outputs"], tile.get("scenes") or []))
        else:
            store.redis.srem(keys.unregistered_tiles(request_id), tile["id"])
    if delivered:
        _record_registration(store, request_id, delivered, publish_tiles(settings, request_id, spec, delivered))
    return int(store.redis.scard(keys.unregistered_tiles(request_id)))


def _upload_execution_db(store: Store, settings: Settings, request_id: str, record: dict[str, Any]) -> None:
    spec = JobSpec.from_dict(record["spec"])
    if spec.api_version != 2 or not spec.delivery_root:
        return
    try:
        upload_execution_db(store, settings, request_id, spec.delivery_root)
    except Exception as exc:  # the database is informative; never fail a tile for it
        log.warning("execution database upload for %s failed: %s", request_id, exc)
