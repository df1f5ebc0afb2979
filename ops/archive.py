"""The deterministic synthetic Sentinel-2 L2A sample archive: generate it and load it into S3 + STAC.

`synth()` renders every scene `generate_scenes()` plans for an area and period (one COG per band at its
native resolution, UInt16 DN, the UTM CRS of the scene's MGRS tile, nodata 0), uploads the COGs to
``s3://<archive_bucket>/<collection>/<mgrs>/<yyyy>/<mm>/<dd>/<item id>/<asset>.tif`` and upserts one STAC item
per scene into ``settings.archive_collection``. Same arguments give byte-identical COGs and identical items,
so a second call for the same area changes nothing (unchanged objects are not even re-sent); a call for
another area adds its own items. `render_scene()` recomputes any archived raster without S3, for tests and
for checking what the workers read.

Planning lives in `ops.archive_scenes`, pixels in `ops.archive_render`, encoding in `ops.archive_cog`,
storage in `ops.archive_s3` and catalogue documents in `ops.archive_stac`.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from affine import Affine
from tqdm import tqdm

from evalbatch.objectstore import S3Credentials, ensure_bucket, s3_client
from evalbatch.profiles import SENTINEL_2_L2A, get_profile
from evalbatch.settings import Settings
from ops.archive_cog import cog_bytes
from ops.archive_render import cloud_cover, render_scene
from ops.archive_s3 import existing_etags, put_unless_identical
from ops.archive_scenes import SceneSpec, generate_scenes
from ops.archive_stac import AssetFile, StacLoader, build_item, collection_document, object_key

__all__ = ["ArchiveSummary", "SceneSpec", "generate_scenes", "render_scene", "synth"]

DEFAULT_BBOX = (11.95, 46.00, 12.05, 46.06)  # straddles the UTM zone 32/33 boundary at 12°E
DEFAULT_START = dt.date(2024, 5, 1)
DEFAULT_DAYS = 60
DEFAULT_SEED = 20240501
DEFAULT_WORKERS = 2
SCENES_PER_TASK = 4  # consecutive scenes of one tile share a worker's landscape caches
UPLOAD_THREADS = 8

PROFILE = get_profile(SENTINEL_2_L2A, "local")


@dataclass(frozen=True)
class EncodedBand:
    """One band of a scene, encoded as a COG."""

    band: str
    data: bytes
    shape: tuple[int, int]
    transform: Affine
    resolution: int
    dtype: str


@dataclass(frozen=True)
class EncodedScene:
    """All bands of one scene as COGs, and its cloud cover in percent."""

    scene: SceneSpec
    bands: tuple[EncodedBand, ...]
    cloud_cover: float


@dataclass(frozen=True)
class ArchiveSummary:
    """What one `synth` call generated and how much of it had to be written."""

    bbox: tuple[float, float, float, float]
    start: dt.date
    days: int
    seed: int
    scenes: int  # = STAC items of the area and period
    objects: int  # = COGs of the area and period (uploaded + unchanged)
    objects_uploaded: int
    objects_unchanged: int
    bytes_uploaded: int
    items_created: int
    items_updated: int
    mgrs_tiles: tuple[str, ...]
    epsg_codes: tuple[int, ...]
    seconds: float
    item_ids: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.scenes} scenes in tiles {', '.join(self.mgrs_tiles)} "
            f"(EPSG {', '.join(map(str, self.epsg_codes))}), {self.objects} COGs "
            f"({self.objects_uploaded} uploaded, {self.bytes_uploaded / 1e6:.1f} MB; {self.objects_unchanged} "
            f"unchanged), {self.items_created} items created, {self.items_updated} updated, in {self.seconds:.1f} s"
        )


def encode_scene(scene: SceneSpec) -> EncodedScene:
    """Render and COG-encode every band of `scene` (bands of one resolution one after the other)."""
    bands = []
    for band in sorted(PROFILE.bands, key=PROFILE.resolution):
        array, transform, epsg = render_scene(scene, band)
        data = cog_bytes(array, transform, epsg, categorical=band == "SCL")
        bands.append(EncodedBand(band, data, array.shape, transform, PROFILE.resolution(band), array.dtype.name))
    return EncodedScene(scene, tuple(bands), cloud_cover(render_scene(scene, "SCL")[0]))


def encode_scenes(scenes: list[SceneSpec], workers: int) -> Iterator[EncodedScene]:
    """Encoded scenes in the order of `scenes`, rendered by `workers` processes (1: in this process)."""
    if workers <= 1:
        yield from map(encode_scene, scenes)
        return
    # forkserver, not fork: forking a process that already runs threads (GDAL, V8, an HTTP client) can leave
    # the child waiting forever on a lock held by a thread that does not exist there; the fork server is a
    # fresh single-threaded process. spawn is the fallback where forkserver does not exist.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(encode_scene, scenes, chunksize=SCENES_PER_TASK)


def synth(
    settings: Settings,
    bbox: tuple[float, float, float, float] = DEFAULT_BBOX,
    start: dt.date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    progress: bool = True,
    workers: int = DEFAULT_WORKERS,
) -> ArchiveSummary:
    """Generate the synthetic archive of `bbox` over [start, start + days) and load it into S3 and STAC."""
    began = time.perf_counter()
    collection = settings.archive_collection
    bucket = settings.archive_bucket
    # Group by tile so each worker process reuses the land cover it computed for that tile.
    scenes = sorted(generate_scenes(bbox, start, days, seed), key=lambda s: (s.mgrs_tile, s.datetime))
    s3 = s3_client(S3Credentials.from_settings(settings))
    ensure_bucket(s3, bucket)
    etags: dict[str, str] = {}
    for tile in sorted({s.mgrs_tile for s in scenes}):
        etags.update(existing_etags(s3, bucket, f"{collection}/{tile}/"))
    stac = StacLoader(settings.stac_url)
    uploaded = unchanged = bytes_uploaded = created = updated = 0
    try:
        stac.ensure_collection(collection_document(collection))
        encoded: Iterable[EncodedScene] = encode_scenes(scenes, workers)
        if progress:
            encoded = tqdm(encoded, total=len(scenes), desc="synthetic scenes", unit="scene")
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as uploads:
            for result in encoded:
                keys = [object_key(collection, result.scene, PROFILE.asset_key(b.band)) for b in result.bands]
                sent = list(
                    uploads.map(
                        lambda key, band: put_unless_identical(s3, bucket, key, band.data, etags), keys, result.bands
                    )
                )
                uploaded += sum(sent)
                unchanged += len(sent) - sum(sent)
                bytes_uploaded += sum(len(b.data) for b, was_sent in zip(result.bands, sent, strict=True) if was_sent)
                assets = [
                    AssetFile(b.band, f"s3://{bucket}/{key}", b.shape, b.transform, b.resolution, b.dtype)
                    for b, key in zip(result.bands, keys, strict=True)
                ]
                # The item goes in after its assets, so a reader never finds an item whose files are missing.
                if stac.upsert_item(build_item(result.scene, collection, assets, result.cloud_cover)) == "created":
                    created += 1
                else:
                    updated += 1
    finally:
        stac.close()
    return ArchiveSummary(
        bbox=tuple(bbox),
        start=start,
        days=days,
        seed=seed,
        scenes=len(scenes),
        objects=uploaded + unchanged,
        objects_uploaded=uploaded,
        objects_unchanged=unchanged,
        bytes_uploaded=bytes_uploaded,
        items_created=created,
        items_updated=updated,
        mgrs_tiles=tuple(sorted({s.mgrs_tile for s in scenes})),
        epsg_codes=tuple(sorted({s.epsg for s in scenes})),
        seconds=round(time.perf_counter() - began, 2),
        item_ids=tuple(s.item_id for s in sorted(scenes, key=lambda s: (s.datetime, s.mgrs_tile))),
    )
