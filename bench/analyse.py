"""Benchmark of the analysis step: tile the contiguous-US outline on grids 1, 0 and 2.

Run: .venv/bin/python bench/analyse.py [--repeat N]

For each grid it prints the first (cold: transformers not yet cached) and the best of N wall times,
tiles/s, and the throughput ratio against a baseline measured in the same process: tiling a
1° × 1° bbox on the same grid, i.e. the per-tile rate of a small request. Target: grid 1 in < 3 s.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tiler import AOI, parse_bounds, tiles_for_aoi
from tiler.samples import conus_bounds

CASES = ((1, 10.0), (0, 10.0), (2, 60.0))
BASELINE_BOUNDS = {"bbox": [-100.0, 40.0, -99.0, 41.0]}
TARGET_GRID1_SECONDS = 3.0


def _timed_runs(repeat: int, run: Callable[[], int]) -> tuple[float, float, int]:
    """First and best wall time of ``repeat`` runs, and the tile count."""
    times = []
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = run()
        times.append(time.perf_counter() - start)
    return times[0], min(times), count


def _tile_count(aoi: AOI, grid_id: int, resolution: float) -> Callable[[], int]:
    return lambda: len(tiles_for_aoi(aoi, grid_id, resolution))


def main() -> None:
    """Run the benchmark and print one line per grid."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; first and best are reported")
    args = parser.parse_args()

    start = time.perf_counter()
    conus = parse_bounds(conus_bounds())
    parse_seconds = time.perf_counter() - start
    baseline = parse_bounds(BASELINE_BOUNDS)
    print(f"AOI: contiguous-US outline, {conus.area_km2:,.0f} km², parsed in {parse_seconds * 1000:.1f} ms")
    for grid_id, resolution in CASES:
        first, best, count = _timed_runs(args.repeat, _tile_count(conus, grid_id, resolution))
        _, base_best, base_count = _timed_runs(args.repeat, _tile_count(baseline, grid_id, resolution))
        rate, base_rate = count / best, base_count / base_best
        line = (f"grid {grid_id} @ {resolution:g}: {count:>6,} tiles | first {first:.3f} s, best {best:.3f} s"
                f" = {rate:,.0f} tiles/s | baseline 1° bbox: {base_count} tiles at {base_rate:,.0f} tiles/s"
                f" | ratio {rate / base_rate:.1f}x")
        if grid_id == 1:
            verdict = "met" if first < TARGET_GRID1_SECONDS else "MISSED"
            line += f" | target < {TARGET_GRID1_SECONDS:g} s {verdict}"
        print(line)


if __name__ == "__main__":
    main()
