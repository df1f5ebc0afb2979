"""Grouping small tiles into one rq job.

A tile job costs a fork, rq's bookkeeping and a fresh process (PROJ, GDAL and V8 warm up again) before any
pixel is read: tens of milliseconds, which is most of the work of a tile with few or no scenes. So START puts
consecutive tiles whose estimated work is small into one job (a *batch*), up to `tile_batch_seconds` of
estimated work and `tile_batch_max` tiles, while leaving every worker several jobs to share. Heavy tiles keep a
job of their own. Each tile of a batch keeps its own status, attempts, error, timing and cost.

A tile's work is estimated from the analysis: the dry-run time of the sample tile, scaled by the tile's scene
count over the sample's (the same model as the request's `estimate.totalSeconds`). Without an estimate every
tile gets its own job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

JOBS_PER_WORKER = 4  # batches stay small enough that every worker gets at least this many jobs


@dataclass(frozen=True)
class BatchPolicy:
    """How tiles are grouped: the estimated seconds of the request's sample tile and the limits."""

    sample_seconds: float  # dry-run seconds of the analysis' sample tile (0: unknown)
    sample_scenes: int  # scenes that sample tile read
    max_seconds: float  # estimated work one job may group (0 disables batching)
    max_tiles: int  # tiles one job may group

    def tile_seconds(self, tile: dict[str, Any]) -> float:
        """Estimated seconds of one tile (its scene count over the sample's, at least one scene)."""
        scale = max(1, int(tile.get("sceneCount") or 0)) / max(1, self.sample_scenes)
        return self.sample_seconds * scale

    def size_limit(self, pending: int, workers: int) -> int:
        """Tiles per job at most, so that `pending` tiles still give each of `workers` JOBS_PER_WORKER jobs."""
        if self.sample_seconds <= 0 or self.max_seconds <= 0:
            return 1
        share = math.ceil(pending / max(1, workers * JOBS_PER_WORKER))
        return max(1, min(self.max_tiles, share))


def plan_batches(tiles: Iterable[dict[str, Any]], policy: BatchPolicy, size_limit: int) -> Iterator[list[int]]:
    """Consecutive tile ids grouped into jobs: a batch closes when one more tile would pass `max_seconds` of
    estimated work or `size_limit` tiles (a tile estimated above `max_seconds` runs alone)."""
    batch: list[int] = []
    seconds = 0.0
    for tile in tiles:
        estimate = policy.tile_seconds(tile)
        if batch and (len(batch) >= size_limit or seconds + estimate > policy.max_seconds):
            yield batch
            batch, seconds = [], 0.0
        batch.append(int(tile["id"]))
        seconds += estimate
    if batch:
        yield batch
