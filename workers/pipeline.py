"""The imagery pipeline of one tile: catalog -> samples -> strip-wise reads, masking, mosaicking ->
evalscript -> one COG per output (+ userdata.json).

A tile is processed in full-width strips sized so the samples of one strip stay under a memory budget,
whatever the number of dates; between strips `check_continue` lets the caller stop the tile (cancel).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.windows import Window

from evalbatch.objectstore import S3Credentials, rasterio_env, shared_s3_client
from evalbatch.profiles import LOCAL, CollectionProfile, get_profile
from evalbatch.settings import Settings
from evalbatch.spec import USERDATA_ID, JobSpec
from evaluator import Evalscript, OutputSpec, Scene
from workers import catalog, scene_cache
from workers.errors import InvalidRequestError
from workers.interpolation import InterpolationSpec, interpolate, to_days
from workers.masking import SCL_BAND, cloud_classes, valid_pixels
from workers.memory import peak_rss_bytes, reset_peak
from workers.mosaic import ORBIT, SIMPLE, Compositor, Sample, group_samples
from workers.output import (
    CogOptions,
    StripWriter,
    check_targets,
    deliver_cog,
    deliver_userdata,
    dtype_of,
    reporting_full_disk,
)
from workers.reading import AssetRead, TileReader, resampling_for
from workers.results_stac import results_profile
from workers.tilegrid import TileGrid
from workers.units import convert

DATA_MASK = "dataMask"
STRIP_BUDGET_BYTES = 512 * 1024**2  # float32 working set of one strip (samples + compositing)
WORKING_COPIES = 2  # the samples plus compositing and conversion temporaries
SCRIPT_TIMEOUT_S = 600.0
SIMPLE_READ_BATCH = 4  # items read concurrently while filling a SIMPLE mosaic


@dataclass
class TileResult:
    """What one tile run produced and measured."""

    outputs: dict[str, str] = field(default_factory=dict)  # output id -> URL (empty on dry runs)
    scenes: list[str] = field(default_factory=list)  # ids of the items read
    assets_read: list[str] = field(default_factory=list)  # hrefs of the assets read (per-tile debugging)
    samples: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    peak_memory_bytes: int = 0
    seconds: float = 0.0
    skipped: bool = False
    userdata: Any = None
    bands: list[str] = field(default_factory=list)  # the script's input bands (for the PU cost)
    sample_types: list[str] = field(default_factory=list)  # its outputs' sample types (for the PU cost)


@dataclass(frozen=True)
class Datasource:
    """The one datasource of a request with everything the pipeline needs to read it."""

    data_filter: catalog.DataFilter
    profile: CollectionProfile
    processing: dict[str, Any]
    harmonize: bool
    cloud_classes: tuple[int, ...] | None
    interpolation: InterpolationSpec | None

    @classmethod
    def from_spec(cls, spec: JobSpec, settings: Settings) -> Datasource:
        """The datasource of `spec` (data fusion is not supported yet)."""
        if len(spec.data) != 1:
            raise InvalidRequestError("exactly one processRequest.input.data entry is supported (no data fusion)")
        data = spec.data[0]
        processing = data.get("processing") or {}
        chained = catalog.is_results_collection(data["type"])  # outputs of an earlier request: no SCL
        return cls(
            data_filter=catalog.DataFilter.from_data(data, settings.archive_collection),
            profile=results_profile(data["type"]) if chained else get_profile(
                catalog.COLLECTION_ALIASES[data["type"]], LOCAL),
            processing=processing,
            harmonize=bool(processing.get("harmonizeValues", True)),
            cloud_classes=None if chained else cloud_classes(processing),
            interpolation=InterpolationSpec.from_processing(processing),
        )


SceneSource = Callable[[catalog.DataFilter, TileGrid], list[catalog.CatalogItem]]
"""Finds a tile's catalog items (filtered, in mosaicking order) for its datasource filter and grid."""


def to_scene(sample: Sample, date: datetime | None = None) -> Scene:
    """The evaluator Scene of a sample (its first item stands for it)."""
    item = sample.first
    return Scene(
        date=date or item.datetime,
        id=item.id,
        cloud_coverage=sample.cloud_cover,
        tile_id=item.mgrs_tile,
        orbit_id=item.orbit,
        data_path=item.assets.get(next(iter(item.assets), ""), None),
    )


@lru_cache(maxsize=4)
def parsed_script(source: str) -> Evalscript:
    """The parsed evalscript, once per process and script: the tiles of a batch share it (parsing runs setup()
    in a V8 context of its own). A script that fails to parse is not cached: each tile reports the error."""
    return Evalscript.parse(source)


def strip_rows(grid: TileGrid, n_samples: int, n_bands: int) -> int:
    """Rows per strip keeping the float32 working set under STRIP_BUDGET_BYTES (a multiple of 256 if big)."""
    per_row = max(1, n_samples) * max(1, n_bands + 1) * grid.width * 4 * WORKING_COPIES
    rows = max(1, STRIP_BUDGET_BYTES // per_row)
    if rows >= 256:
        rows -= rows % 256
    return int(min(rows, grid.height))


class BandReader:
    """Reads the bands of catalog items for one strip and turns them into evalscript values + validity."""

    def __init__(self, reader: TileReader, source: Datasource, bands: list[str], units: dict[str, str]) -> None:
        self.reader = reader
        self.source = source
        self.bands = bands  # bands the script reads (without dataMask)
        self.units = units
        self.read_scl = source.cloud_classes is not None or SCL_BAND in bands
        self.assets = [*bands, SCL_BAND] if self.read_scl and SCL_BAND not in bands else list(bands)
        if not self.assets:
            self.assets = [SCL_BAND]  # only dataMask requested: SCL tells where data is
            self.read_scl = True
        self.items_read: dict[str, None] = {}
        self.hrefs_read: dict[str, None] = {}  # ordered set

    def _asset_reads(self, item: catalog.CatalogItem) -> list[AssetRead]:
        reads = []
        for band in self.assets:
            key = self.source.profile.asset_key(band)
            if key not in item.assets:
                raise InvalidRequestError(f"item {item.id} has no asset {key!r} for band {band}")
            resampling = resampling_for(
                self.source.processing, self.source.profile.resolution(band), self.reader.grid.resolution
            )
            reads.append(AssetRead(item.assets[key], resampling))
            self.hrefs_read[item.assets[key]] = None
        return reads

    def read(
        self, items: list[catalog.CatalogItem], window: Window
    ) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
        """For each item: (band -> flat float32 values, flat validity) over `window`."""
        reads = [r for item in items for r in self._asset_reads(item)]
        arrays = self.reader.read(reads, window)
        n = len(self.assets)
        layers = []
        for index, item in enumerate(items):
            self.items_read[item.id] = None
            raw = dict(zip(self.assets, arrays[index * n : (index + 1) * n], strict=True))
            scl = raw.get(SCL_BAND) if self.read_scl else None
            optical = [raw[b] for b in self.bands if b != SCL_BAND]
            valid = valid_pixels(optical, scl, self.source.cloud_classes).ravel()
            values = {
                band: convert(
                    raw[band].ravel(),
                    self.units.get(band, self.source.profile.units(band)),
                    self.source.profile.units(band),
                    item.baseline,
                    self.source.harmonize,
                )
                for band in self.bands
            }
            layers.append((values, valid))
        return layers

    def composite(self, samples: list[Sample], window: Window) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """First-valid composite of each sample: (band -> (T, N), (T, N) validity)."""
        size = int(window.width * window.height)
        values = {b: np.zeros((len(samples), size), np.float32) for b in self.bands}
        valid = np.zeros((len(samples), size), bool)
        for t, sample in enumerate(samples):  # one sample at a time keeps the working set small
            comp = Compositor(self.bands, size)
            for layer in self.read(list(sample.items), window):
                comp.add(*layer)
            for band in self.bands:
                values[band][t] = comp.values[band]
            valid[t] = comp.filled
        return values, valid

    def simple_mosaic(self, sample: Sample | None, window: Window) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """SIMPLE mosaic: first valid pixel over the items, reading only until every pixel is filled."""
        size = int(window.width * window.height)
        comp = Compositor(self.bands, size)
        items = list(sample.items) if sample else []
        for start in range(0, len(items), SIMPLE_READ_BATCH):
            for layer in self.read(items[start : start + SIMPLE_READ_BATCH], window):
                comp.add(*layer)
            if comp.complete:
                break
        return comp.values, comp.filled


def _band_units(script: Evalscript) -> dict[str, str]:
    units: dict[str, str] = {}
    for spec in script.inputs:
        units.update(spec.units)
    return units


def _time_samples(
    values: dict[str, np.ndarray], valid: np.ndarray, samples: list[Sample], source: Datasource,
    targets: list[datetime] | None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    if targets is None or source.interpolation is None:
        return values, valid
    dates = to_days([s.first.datetime for s in samples])
    return interpolate(values, valid, dates, to_days(targets), source.interpolation.method)


def output_urls(spec: JobSpec, script: Evalscript, tile: dict[str, Any], request_id: str) -> dict[str, str]:
    """Output id -> target URL for the TIFF outputs and, when requested, userdata.json."""
    ids = [o.id for o in script.outputs if spec.format_of(o.id) == "tiff"]
    if any(r.get("identifier") == USERDATA_ID for r in spec.responses):
        ids.append(USERDATA_ID)
    return {i: spec.output_path(i, request_id, tile["name"], int(tile["id"])) for i in ids}


@dataclass
class TimeAxis:
    """The samples a tile reads, the scenes the script sees, and the interpolation grid (if any)."""

    samples: list[Sample]
    scenes: list[Scene]  # what evaluatePixel / updateOutput see (empty for SIMPLE)
    targets: list[datetime] | None = None

    @property
    def length(self) -> int:
        """Time samples per pixel handed to the script (1 for SIMPLE)."""
        return len(self.targets) if self.targets is not None else max(1, len(self.samples))


def plan_time_axis(run: Any, script: Evalscript, source: Datasource, items: list[catalog.CatalogItem]) -> TimeAxis:
    """Group items into samples, apply preProcessScenes, and lay out the interpolation grid."""
    flt = source.data_filter
    samples = group_samples(items, script.mosaicking)
    if script.mosaicking == SIMPLE:
        return TimeAxis(samples, [])
    scenes = [to_scene(s) for s in samples]
    kept = run.select_scenes(scenes, flt.time_from, flt.time_to)
    samples, scenes = [samples[i] for i in kept], [scenes[i] for i in kept]
    if source.interpolation is None or script.mosaicking != ORBIT:
        return TimeAxis(samples, scenes)
    targets = source.interpolation.targets(flt.time_from, flt.time_to)
    if flt.mosaicking_order != catalog.LEAST_RECENT:
        targets = targets[::-1]
    scenes = [Scene(date=d, id=f"interpolated-{d.date().isoformat()}") for d in targets]
    return TimeAxis(samples, scenes, targets)


def strip_inputs(
    band_reader: BandReader, script: Evalscript, source: Datasource, axis: TimeAxis, window: Window
) -> dict[str, np.ndarray]:
    """The script's inputs for one strip: band -> (N,) (SIMPLE) or (T, N), dataMask included."""
    if script.mosaicking == SIMPLE:
        values, mask = band_reader.simple_mosaic(axis.samples[0] if axis.samples else None, window)
    else:
        values, valid = band_reader.composite(axis.samples, window)
        values, mask = _time_samples(values, valid, axis.samples, source, axis.targets)
    inputs = {b: values[b] for b in script.bands if b != DATA_MASK}
    if DATA_MASK in script.bands:
        inputs[DATA_MASK] = mask.astype(np.uint8)
    return inputs


def run_tile(
    spec: JobSpec,
    tile: dict[str, Any],
    request_id: str,
    settings: Settings,
    *,
    creds: S3Credentials,
    delivery: S3Credentials | None = None,
    check_continue: Callable[[], None] = lambda: None,
    deliver: bool = True,
    workdir: Path | None = None,
    keep_dir: Path | None = None,
    scenes: SceneSource | None = None,
) -> TileResult:
    """Process one tile end to end. With `deliver=False` (the analysis dry run) nothing is uploaded.
    With `keep_dir` (local replay) a copy of each COG, `<output id>.tif`, is kept there. `scenes` finds the
    tile's catalog items (default: a live search of the catalog).
    Raises UserError subclasses / EvalscriptError for request problems, CancelledError via `check_continue`."""
    started = time.monotonic()
    reset_peak()
    result = TileResult()
    grid = TileGrid.from_tile(tile)
    script = parsed_script(spec.evalscript)
    result.bands, result.sample_types = list(script.bands), [o.sample_type for o in script.outputs]
    source = Datasource.from_spec(spec, settings)
    output_client = shared_s3_client(delivery or creds) if deliver else None
    urls = output_urls(spec, script, tile, request_id)
    if output_client is not None and check_targets(output_client, list(urls.values()), spec.overwrite,
                                                   spec.skip_existing):
        result.skipped, result.outputs = True, urls
        result.seconds = time.monotonic() - started
        return result
    items = (scenes or partial(scene_cache.live_search, settings.stac_url))(source.data_filter, grid)
    bands = [b for b in script.bands if b != DATA_MASK]
    with tempfile.TemporaryDirectory(dir=workdir, prefix="tile-") as tmp, reporting_full_disk(Path(tmp)), \
            rasterio_env(creds), script.session(SCRIPT_TIMEOUT_S) as run:
        tmpdir = Path(tmp)
        axis = plan_time_axis(run, script, source, items)
        outputs: list[OutputSpec] = run.update_output(axis.scenes)
        result.samples = len(axis.samples) if script.mosaicking != SIMPLE else 1
        writers = {
            o.id: StripWriter(tmpdir / f"{o.id}.raw.tif", grid, o.bands, dtype_of(o.sample_type), o.nodata)
            for o in outputs
            if o.id in urls and o.bands > 0
        }
        with TileReader(grid) as reader:
            band_reader = BandReader(reader, source, bands, _band_units(script))
            for window in grid.strips(strip_rows(grid, axis.length, len(bands))):
                check_continue()
                inputs = strip_inputs(band_reader, script, source, axis, window)
                evaluated = run.evaluate(inputs, scenes=axis.scenes)
                del inputs
                for output_id, writer in writers.items():
                    writer.write(evaluated[output_id].reshape(-1, int(window.height), int(window.width)), window)
            result.bytes_read = reader.bytes_read
            result.scenes = list(band_reader.items_read)
            result.assets_read = list(band_reader.hrefs_read)
        result.userdata = run.finish()
        check_continue()
        cog_options = CogOptions.from_parameters(spec.cog_parameters, spec.api_version)
        for output_id, writer in writers.items():
            cog = writer.to_cog(tmpdir / f"{output_id}.tif", cog_options)
            result.bytes_written += cog.stat().st_size
            if keep_dir is not None:
                shutil.copy2(cog, keep_dir / cog.name)
            if output_client is not None:
                deliver_cog(output_client, cog, urls[output_id])
                result.outputs[output_id] = urls[output_id]
        if USERDATA_ID in urls and output_client is not None:
            deliver_userdata(output_client, result.userdata, urls[USERDATA_ID])
            result.outputs[USERDATA_ID] = urls[USERDATA_ID]
    result.peak_memory_bytes = peak_rss_bytes()
    result.seconds = time.monotonic() - started
    return result
