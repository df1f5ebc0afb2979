"""`make demo`: start the local stack, make sure the sample archive exists, and run one batch request end to end.

Everything goes through the real HTTP API, as a user's script would: token, create (v1), analyse, start,
watch the tiles finish with a progress bar, then print the tile table and write two PNGs under
`$EVALBATCH_HOME/demo/`: the per-tile status map and a quick-look of one output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from evalbatch.settings import Settings
from ops.api_client import FINAL_STATUSES, ApiClient

DEMO_BBOX = (11.96, 46.01, 12.04, 46.05)  # inside the default sample archive; straddles UTM zones 32/33
DEMO_TIME_RANGE = {"from": "2024-05-01T00:00:00Z", "to": "2024-06-29T23:59:59Z"}
NDVI_EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"], output: {bands: 1, sampleType: "FLOAT32"}};
}
function evaluatePixel(sample) {
  return sample.dataMask ? [index(sample.B08, sample.B04)] : [NaN];
}
"""


class DemoError(RuntimeError):
    """The demo could not finish; the message says which step failed and why."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced."""

    request: dict[str, Any]
    tiles: list[dict[str, Any]]
    status_map: Path
    quicklook: Path | None


def demo_request_body(bucket: str) -> dict[str, Any]:
    """The v1 create body of the demo: NDVI over the demo AOI on grid 1 at 10 m, least cloudy first."""
    return {
        "processRequest": {
            "input": {
                "bounds": {
                    "bbox": list(DEMO_BBOX),
                    "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
                },
                "data": [
                    {
                        "type": "sentinel-2-l2a",
                        "dataFilter": {"timeRange": DEMO_TIME_RANGE, "mosaickingOrder": "leastCC"},
                    }
                ],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": NDVI_EVALSCRIPT,
        },
        "tilingGrid": {"id": 1, "resolution": 10.0},
        "output": {"defaultTilePath": f"s3://{bucket}/demo", "cogOutput": True, "overwrite": True},
        "description": "evalbatch demo: NDVI across the UTM 32/33 boundary",
    }


def run_request(api: ApiClient, settings: Settings, out_dir: Path) -> DemoResult:
    """Create, analyse and start the demo request, then report on it."""
    body = demo_request_body(settings.results_bucket)
    request = api.call("POST", "/process", json=body)
    request_id = request["id"]
    print(f"created request {request_id} ({request['tileCount']} tiles on grid 1)")
    api.call("POST", f"/process/{request_id}/analyse")
    request = api.wait(request_id, {"ANALYSIS_DONE", "FAILED"})
    if request["status"] == "FAILED":
        raise DemoError(f"analysis failed: {request.get('error')}")
    estimate = request.get("estimate") or {}
    print(
        f"analysis: {request['tileCount']} tiles, valueEstimate {request.get('valueEstimate')} PU (upstream rule), "
        f"estimate {json.dumps(estimate)}"
    )
    api.call("POST", f"/process/{request_id}/start")
    with tqdm(total=request["tileCount"], unit="tile", desc="processing") as progress:
        request = api.wait(request_id, FINAL_STATUSES, progress)
    tiles = api.tiles(request_id)
    print_tile_table(tiles)
    out_dir.mkdir(parents=True, exist_ok=True)
    status_map = write_status_map(tiles, request, out_dir / "tiles.png")
    quicklook = write_quicklook(tiles, settings, out_dir / "quicklook.png")
    print(f"request {request_id}: {request['status']}")
    print(f"status map: {status_map}")
    if quicklook:
        print(f"quick-look: {quicklook}")
    return DemoResult(request=request, tiles=tiles, status_map=status_map, quicklook=quicklook)


def print_tile_table(tiles: list[dict[str, Any]]) -> None:
    """One line per tile: name, status, seconds, scenes, output paths or error."""
    print(f"{'tile':<14} {'status':<10} {'seconds':>8} {'scenes':>6}  output / error")
    for tile in sorted(tiles, key=lambda t: t["name"]):
        seconds = tile.get("seconds")
        outputs = tile.get("outputs") or {}
        detail = tile.get("error") or ", ".join(outputs.values() if isinstance(outputs, dict) else outputs)
        print(
            f"{tile['name']:<14} {tile['status']:<10} {seconds if seconds is not None else '-':>8} "
            f"{len(tile.get('scenes') or []):>6}  {detail}"
        )


def write_status_map(tiles: list[dict[str, Any]], request: dict[str, Any], path: Path) -> Path:
    """The per-tile status map PNG."""
    from shapely.geometry import box, mapping

    from evalbatch.plot import plot_tiles

    figure = plot_tiles(tiles, aoi=mapping(box(*DEMO_BBOX)), title=f"request {request['id'][:8]}: {request['status']}")
    figure.savefig(path, dpi=110)
    return path


def write_quicklook(tiles: list[dict[str, Any]], settings: Settings, path: Path) -> Path | None:
    """A PNG of the NDVI output of the processed tile that overlaps the demo AOI most, read back from S3."""
    import rasterio
    from matplotlib.figure import Figure
    from shapely.geometry import box, shape

    from evalbatch.objectstore import S3Credentials, rasterio_env, vsi_path

    done = [t for t in tiles if t["status"] == "PROCESSED" and t.get("outputs")]
    if not done:
        return None
    aoi = box(*DEMO_BBOX)
    tile = max(done, key=lambda t: (shape(t["geometry"]).intersection(aoi).area, t["name"]))
    outputs = tile["outputs"]
    url = outputs["default"] if isinstance(outputs, dict) else outputs[0]
    with rasterio_env(S3Credentials.from_settings(settings)), rasterio.open(vsi_path(url)) as src:
        ndvi = src.read(1, masked=True)
    figure = Figure(figsize=(6, 5), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(ndvi), cmap="RdYlGn", vmin=-0.2, vmax=0.9)
    figure.colorbar(image, ax=axes, label="NDVI")
    axes.set_title(f"{tile['name']} (EPSG:{tile.get('epsg', '?')})")
    figure.savefig(path, dpi=110)
    return path


DEMO_WORKERS = 2
DEMO_CLIENT_FILE = "demo-client.json"


def ensure_archive(settings: Settings) -> None:
    """Generate and load the default sample archive unless the catalog already has scenes over the demo AOI."""
    search = httpx.post(
        f"{settings.stac_url}/search",
        json={"collections": [settings.archive_collection], "bbox": list(DEMO_BBOX), "limit": 1},
        timeout=30.0,
    )
    if search.status_code == 200 and search.json().get("features"):
        print("sample archive: present")
        return
    from ops.archive import synth

    print("sample archive: generating the default Sentinel-2 L2A scenes (about a minute)")
    summary = synth(settings)
    print(f"sample archive: {summary}")


def demo_client(stack: Any) -> dict[str, str]:
    """The demo's OAuth client, created once and kept in the stack's home."""
    import redis

    from evalbatch.accounts import create_client, verify_client

    path = Path(stack.home) / DEMO_CLIENT_FILE
    client = redis.Redis.from_url(stack.settings.redis_url)
    if path.exists():
        saved = json.loads(path.read_text())
        if verify_client(client, saved["client_id"], saved["client_secret"]):
            return saved
    created = create_client(client, name="demo")
    path.write_text(json.dumps(created))
    path.chmod(0o600)
    return created


def run(stack: Any) -> DemoResult:
    """Start the local stack, ensure the archive, and run the demo request through the HTTP API."""
    results = stack.start_all(workers=DEMO_WORKERS)
    failed = {name: state for name, state in results.items() if str(state).startswith("failed")}
    if failed:
        raise DemoError("; ".join(f"{name} {state}" for name, state in failed.items()))
    settings = stack.settings
    for name, state in results.items():
        print(f"{name:<10} {state}")
    ensure_archive(settings)
    credentials = demo_client(stack)
    api = ApiClient(settings.public_url, credentials["client_id"], credentials["client_secret"])
    return run_request(api, settings, Path(stack.home) / "demo")
