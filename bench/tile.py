"""Benchmark one tile of the imagery pipeline against a hand-written rasterio + numpy script.

One grid-0 tile (2004 x 2004 px at 10 m; --quick: 60 m, 334 px) over the synthetic archive, an ORBIT
max-NDVI composite of 4 bands (B02, B03, B04, B08 + dataMask, SCL cloud mask) over 60 days (--quick: 12).
Both sides run in fresh subprocesses so each reports its own wall time and peak RSS; the ratio is
pipeline / hand-written.

    .venv/bin/python bench/tile.py [--quick] [--keep] [--days 60]

It starts a private local stack (Redis, SeaweedFS, PostgreSQL + pgstac, STAC API) on free ports and loads
the archive first; that set-up is not timed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ARCHIVE_BBOX = (11.95, 46.00, 12.05, 46.06)
START = dt.date(2024, 5, 1)

MAX_NDVI = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04", "B08", "dataMask"], output: {bands: 4, sampleType: "FLOAT32"},
          mosaicking: "ORBIT"};
}
function evaluatePixel(samples) {
  var best = -2, pick = null;
  for (var i = 0; i < samples.length; i++) {
    var s = samples[i];
    if (!s.dataMask) continue;
    var v = (s.B08 - s.B04) / (s.B08 + s.B04);
    if (v > best) { best = v; pick = s; }
  }
  if (pick === null) return [0, 0, 0, -2];
  return [pick.B04, pick.B03, pick.B02, best];
}
"""

PIPELINE_CHILD = """
import json, sys, time
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from workers.pipeline import run_tile
from evalbatch.objectstore import S3Credentials
from workers.memory import peak_rss_bytes
args = json.loads(sys.argv[1])
settings = Settings()
started = time.perf_counter()
result = run_tile(JobSpec.from_dict(args["spec"]), args["tile"], "bench", settings,
                  creds=S3Credentials.from_settings(settings), deliver=False)
print(json.dumps({"seconds": time.perf_counter() - started, "peak": peak_rss_bytes(),
                  "scenes": len(result.scenes), "samples": result.samples}))
"""

# The hand-written equivalent: read each scene whole into the tile grid, mask, composite the max NDVI.
BASELINE_CHILD = """
import json, sys, time
import numpy as np, rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.vrt import WarpedVRT
import pystac_client
from evalbatch.settings import Settings
from evalbatch.objectstore import S3Credentials, rasterio_env
from workers.memory import peak_rss_bytes
args = json.loads(sys.argv[1])
s = Settings()
t = args["tile"]
started = time.perf_counter()
res = t["resolution"]; x0, y0 = t["origin"]["coordinates"]
transform = Affine(res, 0, x0, 0, -res, y0); size = t["widthPx"]; crs = CRS.from_epsg(t["epsg"])
items = pystac_client.Client.open(s.stac_url).search(collections=[s.archive_collection],
    bbox=args["bbox"], datetime=args["datetime"]).items_as_dicts()
best = np.full((size, size), -np.inf, np.float32)
rgb = np.zeros((3, size, size), np.float32)
with rasterio_env(S3Credentials.from_settings(s)):
    for item in items:
        offset = -1000 if item["properties"]["s2:processing_baseline"] >= "04.00" else 0
        bands = {}
        for name in ("B02", "B03", "B04", "B08", "SCL"):
            href = item["assets"][name]["href"].replace("s3://", "/vsis3/")
            with rasterio.open(href) as src, WarpedVRT(src, crs=crs, transform=transform, width=size,
                                                       height=size, nodata=0) as vrt:
                bands[name] = vrt.read(1)
        valid = (bands["B04"] > 0) & ~np.isin(bands["SCL"], (0, 1, 3, 8, 9, 10))
        refl = {k: np.maximum(bands[k].astype(np.float32) + offset, 0) / 10000 for k in ("B02", "B03", "B04", "B08")}
        with np.errstate(divide="ignore", invalid="ignore"):
            ndvi = (refl["B08"] - refl["B04"]) / (refl["B08"] + refl["B04"])
        better = valid & (ndvi > best)
        best[better] = ndvi[better]
        for i, k in enumerate(("B04", "B03", "B02")):
            rgb[i][better] = refl[k][better]
print(json.dumps({"seconds": time.perf_counter() - started, "peak": peak_rss_bytes()}))
"""


def run_child(code: str, payload: dict, env: dict[str, str]) -> dict:
    """Run one measured side in a fresh interpreter; returns its JSON report."""
    out = subprocess.run([sys.executable, "-c", code, json.dumps(payload)], env=env, cwd=REPO,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 m tile and 12 days")
    parser.add_argument("--keep", action="store_true", help="keep the stack's home directory")
    parser.add_argument("--days", type=int, default=None,
                        help="days of archive and time range (default 60, --quick 12; 75 gives 30 ORBIT dates)")
    args = parser.parse_args()
    days, resolution = (12, 60.0) if args.quick else (60, 10.0)
    days = args.days or days

    from ops.archive import synth
    from ops.ports import StackPorts
    from ops.services import LocalStack
    from tiler import parse_bounds, tiles_for_aoi

    home = Path(tempfile.mkdtemp(prefix="evalbatch-bench-tile-"))
    home.chmod(0o755)
    stack = LocalStack(home, StackPorts.random_free())
    try:
        stack.start_core()
        summary = synth(stack.settings, bbox=ARCHIVE_BBOX, start=START, days=days, progress=False)
        env = {**os.environ, **stack.env()}
        bounds = {"bbox": [11.96, 46.01, 12.04, 46.05]}
        tile = tiles_for_aoi(parse_bounds(bounds), 0, resolution)[0]
        record = {"id": tile.id, "name": tile.name, "epsg": tile.epsg, "origin": tile.origin_geojson(),
                  "resolution": tile.resolution, "widthPx": tile.width_px, "heightPx": tile.height_px,
                  "bufferX": 0, "bufferY": 0}
        time_range = {"from": f"{START}T00:00:00Z", "to": f"{START + dt.timedelta(days=days - 1)}T23:59:59Z"}
        from evalbatch.spec import JobSpec, normalise_tile_path

        spec = JobSpec(api_version=1, grid_id=0, resolution=resolution, evalscript=MAX_NDVI, bounds=bounds,
                       data=[{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": time_range}}],
                       responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
                       tile_path=normalise_tile_path("s3://results/bench"))
        footprint = tile.footprint.bounds
        baseline = run_child(BASELINE_CHILD, {"tile": record, "bbox": list(footprint),
                                              "datetime": f"{time_range['from']}/{time_range['to']}"}, env)
        pipeline = run_child(PIPELINE_CHILD, {"tile": record, "spec": spec.to_dict()}, env)
        print(f"archive: {summary.scenes} scenes, {days} days; tile {tile.name} {tile.width_px}x{tile.height_px} px"
              f" at {resolution:g} m, {pipeline['scenes']} items read, {pipeline['samples']} ORBIT samples")
        print(f"hand-written rasterio+numpy: {baseline['seconds']:.2f} s, peak RSS {baseline['peak'] / 2**20:.0f} MiB")
        print(f"evalbatch pipeline (COG incl.): {pipeline['seconds']:.2f} s, "
              f"peak RSS {pipeline['peak'] / 2**20:.0f} MiB")
        print(f"ratio pipeline / hand-written: time {pipeline['seconds'] / baseline['seconds']:.2f}x, "
              f"peak RSS {pipeline['peak'] / baseline['peak']:.2f}x")
    finally:
        stack.stop_all()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
