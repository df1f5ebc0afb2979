"""Benchmark of the evalscript runtime against hand-written numpy in the same process.

Run: .venv/bin/python bench/evaluator.py [--quick] [--size N] [--dates T] [--repeat R]

For each script (NDVI FLOAT32, true colour AUTO, an SCL cloud-masked NDVI, an ORBIT max-NDVI over
T dates) on an N x N tile (2004 x 2004 by default, 512 x 512 with --quick) it prints Mpix/s of the
evaluator (cold: a fresh session including context creation and setup; warm: a second evaluate()
in the same session), Mpix/s of the numpy equivalent, and the ratios numpy / evaluator. A script
that a numpy fast path translates (SIMPLE arithmetic, or an ORBIT/TILE loop over the samples) gets a
second row with the fast path switched off (V8). Each row ends with the cold rate per CPU second of
this process (every thread, V8's included) and the 1-minute load average: the machine is shared, so
compare rows measured under similar load.
Targets (issue 5): NDVI >= 150 Mpix/s; SIMPLE scripts within 5x of numpy; ORBIT 10 dates >= 15 Mpix/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

# This file is bench/evaluator.py: run as a script, its own folder would shadow the `evaluator` package.
_BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH_DIR]
sys.path.insert(0, str(_BENCH_DIR.parent))

from evaluator import Evalscript, Scene  # noqa: E402

MASKED_SCL = (3, 8, 9, 10)

NDVI = """//VERSION=3
function setup() {
  return { input: ["B04", "B08"], output: { bands: 1, sampleType: "FLOAT32" } };
}
function evaluatePixel(s) {
  return [(s.B08 - s.B04) / (s.B08 + s.B04)];
}
"""

TRUE_COLOR = """//VERSION=3
function setup() {
  return { input: ["B02", "B03", "B04"], output: { bands: 3 } };
}
function evaluatePixel(s) {
  return [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02];
}
"""

SCL_MASKED_NDVI = """//VERSION=3
const CLOUDY = [3, 8, 9, 10];
function setup() {
  return { input: ["B04", "B08", "SCL", "dataMask"], output: { bands: 1, sampleType: "FLOAT32" } };
}
function evaluatePixel(s) {
  if (s.dataMask === 0 || CLOUDY.includes(s.SCL)) return [NaN];
  return [index(s.B08, s.B04)];
}
"""

ORBIT_MAX_NDVI = """//VERSION=3
function setup() {
  return {
    input: ["B04", "B08", "dataMask"],
    output: { bands: 1, sampleType: "FLOAT32" },
    mosaicking: "ORBIT"
  };
}
function evaluatePixel(samples) {
  let best = NaN;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.dataMask !== 1) continue;
    const v = index(s.B08, s.B04);
    if (!(v <= best)) best = v;
  }
  return [best];
}
"""


def _index(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    total = x + y
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total == 0, np.float32(0), (x - y) / total)


def numpy_ndvi(b: dict[str, np.ndarray]) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((b["B08"] - b["B04"]) / (b["B08"] + b["B04"]))[None]


def numpy_true_color(b: dict[str, np.ndarray]) -> np.ndarray:
    rgb = np.stack([b["B04"], b["B03"], b["B02"]]) * np.float32(2.5 * 255)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def numpy_scl_ndvi(b: dict[str, np.ndarray]) -> np.ndarray:
    masked = (b["dataMask"] == 0) | np.isin(b["SCL"], MASKED_SCL)
    return np.where(masked, np.float32(np.nan), _index(b["B08"], b["B04"]))[None]


def numpy_orbit_max(b: dict[str, np.ndarray]) -> np.ndarray:
    ndvi = np.where(b["dataMask"] == 1, _index(b["B08"], b["B04"]), np.float32(np.nan))
    valid = ~np.isnan(ndvi).all(axis=0)
    best = np.full(ndvi.shape[1:], np.nan, np.float32)
    best[valid] = np.nanmax(ndvi[:, valid], axis=0)
    return best[None]


def make_bands(size: int, dates: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    shape = (dates, size, size) if dates else (size, size)
    bands = {name: rng.uniform(0, 0.6, shape).astype(np.float32) for name in ("B02", "B03", "B04", "B08")}
    bands["SCL"] = rng.integers(0, 12, shape, dtype=np.uint8)
    bands["dataMask"] = (rng.random(shape) > 0.05).astype(np.uint8)
    return bands


@dataclass
class Case:
    name: str
    source: str
    baseline: Callable[[dict[str, np.ndarray]], np.ndarray]
    dates: int  # 0 for SIMPLE


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """The shortest wall time of ``repeat`` calls."""
    return best_times(fn, repeat)[0]


def best_times(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The shortest wall time and the shortest process CPU time (every thread, V8's included) of
    ``repeat`` calls; CPU time is what the work costs when other processes compete for the cores."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return min(walls), min(cpus)


def bench_case(case: Case, bands_all: dict[str, np.ndarray], repeat: int, force_v8: bool) -> dict[str, float | str]:
    script = Evalscript.parse(case.source)
    if force_v8:
        script.fast_path = False  # what the script costs in V8 (the path every script can take)
    bands = {b: v for b, v in bands_all.items() if b in script.bands}
    size = next(iter(bands.values())).shape[-1]
    pixels = size * size
    first = datetime(2023, 9, 10, 10, 20, tzinfo=UTC)
    scenes = [Scene(date=first - timedelta(days=6 * i), id=f"scene-{i}") for i in range(case.dates)]

    def cold() -> dict[str, np.ndarray]:
        with script.session() as run:
            run.update_output(scenes)
            return run.evaluate(bands, scenes)

    cold_s, cold_cpu_s = best_times(cold, repeat)
    with script.session() as run:
        run.update_output(scenes)
        got = run.evaluate(bands, scenes)
        warm_s = best_time(lambda: run.evaluate(bands, scenes), repeat)
        path = run.path or "v8"
    numpy_s = best_time(lambda: case.baseline(bands), repeat)
    expected = case.baseline(bands)
    result = got["default"]
    if result.dtype.kind == "f":
        assert np.allclose(result, expected, rtol=1e-5, atol=1e-6, equal_nan=True), case.name
    else:
        assert np.abs(result.astype(int) - expected.astype(int)).max() <= 1, case.name
    return {"cold": pixels / cold_s / 1e6, "warm": pixels / warm_s / 1e6, "numpy": pixels / numpy_s / 1e6,
            "cold_cpu": pixels / cold_cpu_s / 1e6, "path": path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="512 x 512 pixels instead of 2004 x 2004")
    parser.add_argument("--size", type=int, help="tile side in pixels")
    parser.add_argument("--dates", type=int, default=10, help="dates of the ORBIT case")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size or (512 if args.quick else 2004)
    rng = np.random.default_rng(5)
    cases = [
        Case("NDVI FLOAT32", NDVI, numpy_ndvi, 0),
        Case("true colour AUTO", TRUE_COLOR, numpy_true_color, 0),
        Case("SCL-masked NDVI", SCL_MASKED_NDVI, numpy_scl_ndvi, 0),
        Case(f"ORBIT max NDVI x{args.dates}", ORBIT_MAX_NDVI, numpy_orbit_max, args.dates),
    ]
    print(f"{size} x {size} px, best of {args.repeat}; path: numpy = evalbatch's numpy fast path, v8 = V8 "
          "(the path every script can take); cold cpu = cold pixels per CPU second of this process; "
          "load = 1-minute load average when the row finished")
    print(f"{'script':<22} {'path':<6} {'cold Mpix/s':>12} {'warm Mpix/s':>12} {'numpy Mpix/s':>13} "
          f"{'numpy/cold':>11} {'numpy/warm':>11} {'cold cpu':>9} {'load':>6}")
    for case in cases:
        bands = make_bands(size, case.dates, rng)
        for force_v8 in (False, True):
            r = bench_case(case, bands, args.repeat, force_v8)
            print(f"{case.name:<22} {r['path']:<6} {r['cold']:>12.1f} {r['warm']:>12.1f} {r['numpy']:>13.1f} "
                  f"{r['numpy'] / r['cold']:>10.1f}x {r['numpy'] / r['warm']:>10.1f}x {r['cold_cpu']:>9.1f} "
                  f"{os.getloadavg()[0]:>6.2f}")
            if r["path"] == "v8":
                break  # no fast path for this script: the row above already is V8


if __name__ == "__main__":
    main()
