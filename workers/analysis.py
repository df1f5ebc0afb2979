"""ANALYSE: validate the evalscript, split the AOI into tiles, count the scenes each tile will read with one
catalog query (cached per tile for the tile jobs, workers.scene_cache), dry-run one representative tile, store
tiles and the estimate (docs/estimate.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from evalbatch.objectstore import S3Credentials
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.states import RequestStatus, UserAction, after_analysis
from evalbatch.store import Store
from evaluator import Evalscript, EvalscriptError, Scene
from tiler import AOIError, Tile, TileLimitError, cost, parse_bounds, tiles_for_aoi
from workers import catalog, scene_cache
from workers.costs import tile_cost
from workers.errors import UserError, describe
from workers.mosaic import SIMPLE, group_samples
from workers.output import dtype_of
from workers.pipeline import DATA_MASK, Datasource, run_tile, to_scene
from workers.tilegrid import TileGrid

log = logging.getLogger(__name__)

VALIDATION_PIXELS = 4
VALIDATION_REFLECTANCE = 0.1
VALIDATION_SCL = 4  # vegetation


class AnalysisError(Exception):
    """The request cannot be analysed; the message goes to the request's `error` field."""


@dataclass(frozen=True)
class TileScenes:
    """What one tile will read: the item count and the number of samples per pixel."""

    scene_count: int
    samples: int


def validate_script(script: Evalscript, scenes: list[Scene], time_from: datetime, time_to: datetime) -> None:
    """Run the script's hooks and a few synthetic pixels (raises EvalscriptError with the script's line)."""
    with script.session(60.0) as run:
        kept = scenes
        if script.mosaicking != SIMPLE:
            kept = [scenes[i] for i in run.select_scenes(scenes, time_from, time_to)]
        run.update_output(kept if script.mosaicking != SIMPLE else [])
        shape_ = (VALIDATION_PIXELS,) if script.mosaicking == SIMPLE else (len(kept), VALIDATION_PIXELS)
        samples = {}
        for band in script.bands:
            if band == DATA_MASK:
                samples[band] = np.ones(shape_, np.uint8)
            elif band == "SCL":
                samples[band] = np.full(shape_, VALIDATION_SCL, np.uint8)
            else:
                samples[band] = np.full(shape_, VALIDATION_REFLECTANCE, np.float32)
        run.evaluate(samples, scenes=kept if script.mosaicking != SIMPLE else [])
        run.finish()


def count_scenes(
    script: Evalscript, items: list[catalog.CatalogItem], per_tile: list[list[int]], flt: catalog.DataFilter
) -> list[TileScenes]:
    """Per tile, the items it will read and its samples per pixel, after maxCloudCoverage (in the search)
    and preProcessScenes (run once per distinct set of scenes); `per_tile` holds each tile's item indices
    (`scene_cache.items_per_footprint`)."""
    cache: dict[tuple[int, ...], TileScenes] = {}
    result = []
    with script.session(60.0) as run:
        for indices in per_tile:
            key = tuple(indices)
            if key not in cache:
                samples = group_samples([items[i] for i in indices], script.mosaicking)
                if script.mosaicking == SIMPLE:
                    cache[key] = TileScenes(len(indices), 1)
                else:
                    kept = run.select_scenes([to_scene(s) for s in samples], flt.time_from, flt.time_to)
                    chosen = [samples[i] for i in kept]
                    cache[key] = TileScenes(sum(len(s.items) for s in chosen), len(chosen))
            result.append(cache[key])
    return result


def tile_record(tile: Tile, request_id: str, pu: float, scenes: TileScenes) -> dict[str, Any]:
    """The stored tile: v1 fields + the extension fields the workers and users need."""
    return {
        "id": tile.id,
        "name": tile.name,
        "requestId": request_id,
        "origin": tile.origin_geojson(),
        "geometry": tile.footprint_geojson(),
        "cost": round(pu, 4),
        "epsg": tile.epsg,
        "resolution": tile.resolution,
        "widthPx": tile.width_px,
        "heightPx": tile.height_px,
        "bufferX": tile.buffer_x,
        "bufferY": tile.buffer_y,
        "sceneCount": scenes.scene_count,
        "samples": scenes.samples,
    }


def representative_index(scenes: list[TileScenes]) -> int:
    """The tile with the most scenes to read (a conservative sample for time and memory)."""
    return int(np.argmax([s.scene_count for s in scenes])) if scenes else 0


def build_estimate(
    records: list[dict[str, Any]], sample: dict[str, Any], dry: dict[str, Any], settings: Settings,
    output_bytes_per_pixel: float,
) -> dict[str, Any]:
    """The `estimate` extension object (model in docs/estimate.md)."""
    sample_scenes = max(1, int(sample["sceneCount"]))
    scale = [max(1, int(r["sceneCount"])) / sample_scenes for r in records]
    per_scene_bytes = dry.get("bytesRead", 0) / sample_scenes
    seconds = dry.get("seconds", 0.0)
    pixels = [(r["widthPx"] + 2 * r["bufferX"]) * (r["heightPx"] + 2 * r["bufferY"]) for r in records]
    return {
        "processingUnits": round(cost.billed_pu([r["cost"] for r in records], pixels), 3),
        "scenes": int(sum(r["sceneCount"] for r in records)),
        "inputBytes": int(sum(per_scene_bytes * r["sceneCount"] for r in records)),
        "outputBytes": int(sum(px * output_bytes_per_pixel for px in pixels)),
        "perTileSeconds": round(seconds, 3),
        "perTilePeakMemoryBytes": int(dry.get("peakMemoryBytes", 0)),
        "totalSeconds": round(sum(seconds * s for s in scale) / max(1, settings.worker_count), 3),
        "workers": settings.worker_count,
        "sampleTileId": sample["id"],
        **({"sampleTileError": dry["error"]} if dry.get("error") else {}),
    }


def analyse(store: Store, settings: Settings, request_id: str) -> RequestStatus | None:
    """Analyse one request and move it on; returns the new status (None when it vanished or moved on)."""
    record = store.get_request(request_id)
    if record is None or record.get("status") != RequestStatus.ANALYSING:
        return None
    spec = JobSpec.from_dict(record["spec"])
    try:
        analysed = _analyse(store, settings, request_id, spec)
    except (AnalysisError, EvalscriptError, UserError, AOIError, TileLimitError) as exc:
        store.transition(request_id, RequestStatus.FAILED, [RequestStatus.ANALYSING], error=describe(exc))
        return RequestStatus.FAILED
    estimate = analysed["estimate"]
    budget = spec.max_processing_units
    user_action = UserAction(store.get_request(request_id).get("userAction") or UserAction.ANALYSE)
    target = after_analysis(user_action, True)
    fields: dict[str, Any] = {**analysed, "error": None}
    if budget is not None and estimate["processingUnits"] > budget:
        fields["error"] = budget_message(estimate["processingUnits"], budget)
        target = RequestStatus.ANALYSIS_DONE
    if not store.transition(request_id, target, [RequestStatus.ANALYSING], **fields):
        store.update_request(request_id, **analysed)  # cancelled meanwhile: keep the analysis results
        return None
    if target is RequestStatus.PROCESSING:
        from evalbatch.queues import enqueue_start

        enqueue_start(store.redis, request_id)
    return target


def budget_message(estimate: float, budget: float) -> str:
    """The error of a request whose estimate exceeds its budget."""
    return f"estimate {estimate:.2f} PU exceeds maxProcessingUnits {budget:g}"


def _analyse(store: Store, settings: Settings, request_id: str, spec: JobSpec) -> dict[str, Any]:
    script = Evalscript.parse(spec.evalscript)
    source = Datasource.from_spec(spec, settings)
    flt = source.data_filter
    aoi = parse_bounds(spec.bounds)
    tiles = tiles_for_aoi(
        aoi, spec.grid_id, spec.resolution, spec.buffer_x, spec.buffer_y,
        max_tiles=settings.max_tiles_per_request,
    )
    footprints = [TileGrid.from_tiler(t).footprint() for t in tiles]  # what each tile's search covers
    items = catalog.search(settings.stac_url, flt, scene_cache.covering_geometry(footprints))
    per_tile = scene_cache.items_per_footprint(items, footprints)
    scenes = count_scenes(script, items, per_tile, flt)
    sample_index = representative_index(scenes)
    sample_items = [items[i] for i in per_tile[sample_index]]
    validate_script(
        script, [to_scene(s) for s in group_samples(sample_items, script.mosaicking)][:8],
        flt.time_from, flt.time_to,
    )
    bands = script.bands
    sample_types = [o.sample_type for o in script.outputs]
    records = [
        tile_record(t, request_id, tile_cost(_as_record(t), bands, sample_types, s.samples), s)
        for t, s in zip(tiles, scenes, strict=True)
    ]
    dry = dry_run(spec, records[sample_index], request_id, settings, sample_items)
    out_bpp = sum(o.bands * np.dtype(dtype_of(o.sample_type)).itemsize for o in script.outputs)
    estimate = build_estimate(records, records[sample_index], dry, settings, out_bpp)
    store.put_tiles(request_id, records)
    if scene_cache.cacheable(flt):
        scene_cache.store_scenes(store.redis, request_id, scene_cache.fingerprint(settings.stac_url, flt), items,
                                 {t.id: indices for t, indices in zip(tiles, per_tile, strict=True)})
    if spec.api_version == 2 and spec.delivery_root:
        from workers.manifest import upload_feature_manifest

        upload_feature_manifest(store, settings, request_id, spec, records, script)
    first = tiles[0]
    return {
        "tileCount": len(records),
        "tileWidthPx": first.width_px,
        "tileHeightPx": first.height_px,
        "valueEstimate": round(
            cost.value_estimate(tiles, bands, sample_types, script.mosaicking, flt.time_from, flt.time_to), 3
        ),
        "estimate": estimate,
    }


def _as_record(tile: Tile) -> dict[str, Any]:
    return {"widthPx": tile.width_px, "heightPx": tile.height_px, "bufferX": tile.buffer_x,
            "bufferY": tile.buffer_y}


def dry_run(
    spec: JobSpec, tile: dict[str, Any], request_id: str, settings: Settings,
    items: list[catalog.CatalogItem] | None = None,
) -> dict[str, Any]:
    """Run the full pipeline on one tile without delivering (on `items`, the tile's catalog items, when
    known); timings, memory and bytes read (or the error)."""
    try:
        result = run_tile(spec, tile, request_id, settings, creds=S3Credentials.from_settings(settings),
                          deliver=False, scenes=None if items is None else lambda flt, grid: items)
    except Exception as exc:  # the estimate is best effort; the tile itself will report its error
        log.warning("dry run of tile %s failed: %s", tile["id"], exc)
        return {"error": describe(exc)}
    return {"seconds": result.seconds, "peakMemoryBytes": result.peak_memory_bytes,
            "bytesRead": result.bytes_read}
