"""The synthetic Sentinel-2 L2A archive: tiling, determinism, COG validity, SCL realism, items, loading."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.io import MemoryFile
from rasterio.transform import rowcol
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box, shape

from evalbatch.profiles import boa_offset, get_profile
from ops import archive_render
from ops.archive import DEFAULT_BBOX, DEFAULT_DAYS, DEFAULT_START, encode_scene, generate_scenes, render_scene
from ops.archive_grid import tiles_for_bbox
from ops.archive_render import scene_grid, surface_reflectance
from ops.archive_scenes import SceneSpec
from ops.archive_stac import AssetFile, build_item, object_key
from workers.stac_projection import check_projection

SEED = 20240501
PROFILE = get_profile("sentinel-2-l2a")
SCL_CLOUD = (8, 9, 10)


@pytest.fixture(scope="module")
def scenes() -> list[SceneSpec]:
    return generate_scenes(DEFAULT_BBOX, DEFAULT_START, DEFAULT_DAYS, SEED)


def by_tile(scenes: list[SceneSpec], tile: str) -> list[SceneSpec]:
    return [scene for scene in scenes if scene.mgrs_tile == tile]


def reflectance_of(scene: SceneSpec, band: str) -> np.ndarray:
    dn, _, _ = render_scene(scene, band)
    return (dn.astype(np.float64) + boa_offset(scene.processing_baseline)) / 10_000


# --- Sentinel-2 tiling grid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "tile"),
    [(2.35, 48.85, "31UDQ"), (1.44, 43.60, "31TCJ"), (12.50, 41.90, "33TTG"), (13.40, 52.52, "33UUU"),
     (11.58, 48.14, "32UPU"), (-0.12, 51.50, "30UXC")],
)  # fmt: skip
def test_known_cities_fall_in_their_published_sentinel2_tiles(lon: float, lat: float, tile: str) -> None:
    names = [t.name for t in tiles_for_bbox((lon - 1e-4, lat - 1e-4, lon + 1e-4, lat + 1e-4))]
    assert tile in names


def test_tile_corners_sit_on_the_60m_lattice_like_the_esa_grid() -> None:
    (paris,) = tiles_for_bbox((2.349, 48.849, 2.351, 48.851))
    assert (paris.name, paris.epsg, paris.ulx, paris.uly) == ("31UDQ", 32631, 399960, 5500020)
    for tile in tiles_for_bbox(DEFAULT_BBOX):
        minx, miny, maxx, maxy = tile.bounds
        assert (maxx - minx, maxy - miny) == (109_800, 109_800)
        assert minx % 60 == 0 and maxy % 60 == 0


def test_default_area_needs_both_utm_zones(scenes: list[SceneSpec]) -> None:
    assert {scene.epsg for scene in scenes} == {32632, 32633}
    assert {scene.mgrs_tile[:2] for scene in scenes} == {"32", "33"}


def test_every_scene_covers_the_area_and_stays_small(scenes: list[SceneSpec]) -> None:
    west, south, east, north = DEFAULT_BBOX
    for scene in scenes:
        minx, miny, maxx, maxy = scene.bounds
        assert all(v % 60 == 0 for v in scene.bounds)
        assert maxx - minx < 20_000 and maxy - miny < 20_000  # never a full 109.8 km tile
        to_utm = Transformer.from_crs(4326, scene.epsg, always_xy=True)
        xs, ys = to_utm.transform([west, east, east, west], [south, south, north, north])
        tile_box = box(*scene.tile.bounds)
        for x, y in zip(xs, ys, strict=True):
            # the area is inside the scene wherever it is inside the scene's tile
            if tile_box.contains(box(x - 1, y - 1, x + 1, y + 1)):
                assert minx <= x <= maxx and miny <= y <= maxy


def test_areas_too_large_for_small_scenes_are_refused() -> None:
    with pytest.raises(ValueError, match="smaller parts"):
        generate_scenes((11.0, 46.0, 12.0, 46.2), DEFAULT_START, 10, SEED)


# --- acquisition plan -----------------------------------------------------------------------------------


def test_revisit_orbits_platforms_and_baselines(scenes: list[SceneSpec]) -> None:
    dates = sorted({scene.datetime for scene in scenes})
    assert all(scene.datetime.tzinfo is not None for scene in scenes)
    assert {scene.relative_orbit for scene in scenes} == {22, 122}
    assert {scene.platform for scene in scenes} == {"sentinel-2a", "sentinel-2b"}
    gaps = {(later - earlier).days for earlier, later in itertools.pairwise(dates)}
    assert max(gaps) <= 5
    assert dates[0].date() == DEFAULT_START and dates[-1].date() < DEFAULT_START + dt.timedelta(DEFAULT_DAYS)
    early = [s for s in scenes if s.datetime.date() < DEFAULT_START + dt.timedelta(days=5)]
    assert early and {s.processing_baseline for s in early} == {"03.01"}
    assert {s.processing_baseline for s in scenes} == {"03.01", "05.10"}
    # the passes are imaged in every tile at the same moment (tiles of two zones overlap)
    per_date = defaultdict(set)
    for scene in scenes:
        per_date[scene.datetime].add(scene.mgrs_tile)
    assert max(len(tiles) for tiles in per_date.values()) >= 2


def test_item_ids_are_stable_and_sentinel_like(scenes: list[SceneSpec]) -> None:
    again = generate_scenes(DEFAULT_BBOX, DEFAULT_START, DEFAULT_DAYS, SEED)
    assert [s.item_id for s in again] == [s.item_id for s in scenes]
    assert len({s.item_id for s in scenes}) == len(scenes)
    pattern = re.compile(r"S2[AB]_MSIL2A_\d{8}T\d{6}_R\d{3}_T\d{2}[C-X][A-Z]{2}_\d{8}T\d{6}_[0-9a-f]{6}")
    for scene in scenes:
        assert pattern.fullmatch(scene.item_id)
        assert f"_T{scene.mgrs_tile}_" in scene.item_id
        assert scene.datetime.strftime("%Y%m%dT%H%M%S") in scene.item_id
    other_area = generate_scenes((11.90, 46.00, 11.95, 46.06), DEFAULT_START, DEFAULT_DAYS, SEED)
    assert not {s.item_id for s in other_area} & {s.item_id for s in scenes}


# --- rasters --------------------------------------------------------------------------------------------


def test_rendering_is_deterministic_to_the_byte(scenes: list[SceneSpec]) -> None:
    scene = by_tile(scenes, "32TQS")[3]
    first = encode_scene(scene)
    archive_render.clear_caches()
    again = encode_scene(generate_scenes(DEFAULT_BBOX, DEFAULT_START, DEFAULT_DAYS, SEED)[scenes.index(scene)])
    assert [b.data for b in first.bands] == [b.data for b in again.bands]
    assert first.cloud_cover == again.cloud_cover
    other_seed = generate_scenes(DEFAULT_BBOX, DEFAULT_START, DEFAULT_DAYS, SEED + 1)[scenes.index(scene)]
    assert not np.array_equal(render_scene(other_seed, "B04")[0], render_scene(scene, "B04")[0])


def test_bands_have_native_grids_in_the_tile_crs(scenes: list[SceneSpec]) -> None:
    scene = by_tile(scenes, "33TTM")[0]
    minx, miny, maxx, maxy = scene.bounds
    for band in PROFILE.bands:
        array, transform, epsg = render_scene(scene, band)
        res = PROFILE.resolution(band)
        assert epsg == 32633
        assert (transform.a, transform.e, transform.c, transform.f) == (res, -res, minx, maxy)
        assert array.shape == ((maxy - miny) // res, (maxx - minx) // res)
        assert array.dtype == (np.uint8 if band == "SCL" else np.uint16)


def test_cogs_are_valid_tiled_with_overviews(scenes: list[SceneSpec], tmp_path: Path) -> None:
    encoded = encode_scene(by_tile(scenes, "32TQS")[1])
    for band in encoded.bands:
        path = tmp_path / f"{band.band}.tif"
        path.write_bytes(band.data)
        valid, errors, _warnings = cog_validate(str(path))
        assert valid, (band.band, errors)
        with rasterio.open(path) as dataset:
            assert dataset.crs.to_epsg() == 32632
            assert dataset.nodata == 0
            assert dataset.block_shapes[0] == (512, 512)
            assert dataset.res == (band.resolution, band.resolution)
            np.testing.assert_array_equal(dataset.read(1), render_scene(encoded.scene, band.band)[0])
            if max(dataset.width, dataset.height) > 512:
                assert dataset.overviews(1)


def test_baseline_offset_is_in_the_digital_numbers(scenes: list[SceneSpec]) -> None:
    tile_scenes = by_tile(scenes, "32TQS")
    old = next(s for s in tile_scenes if s.processing_baseline == "03.01" and not s.partial_swath)
    new = next(s for s in tile_scenes if s.processing_baseline == "05.10" and not s.partial_swath)
    clear_water = (render_scene(old, "SCL")[0] == 6) & (render_scene(new, "SCL")[0] == 6)
    assert clear_water.sum() > 100
    old_dn = render_scene(old, "B11")[0][clear_water].astype(int)
    new_dn = render_scene(new, "B11")[0][clear_water].astype(int)
    # water reflects the same on both dates: the raw DN differ by the offset, harmonised values agree
    assert abs(np.median(new_dn - old_dn) - 1000) <= 5
    assert abs(np.median(reflectance_of(new, "B11")[clear_water] - reflectance_of(old, "B11")[clear_water])) < 5e-4


def test_nodata_outside_the_partial_swath(scenes: list[SceneSpec]) -> None:
    partial = next(s for s in by_tile(scenes, "32TQS") if s.partial_swath)
    scl = render_scene(partial, "SCL")[0]
    assert 0.1 < (scl == 0).mean() < 0.9
    for band in ("B8A", "B11"):
        np.testing.assert_array_equal(render_scene(partial, band)[0] == 0, scl == 0)
    full = next(s for s in by_tile(scenes, "32TQS") if not s.partial_swath)
    assert (render_scene(full, "SCL")[0] != 0).all()


def test_scl_agrees_with_the_reflectances(scenes: list[SceneSpec]) -> None:
    ratios: dict[int, list[np.ndarray]] = defaultdict(list)
    seen_classes: set[int] = set()
    for scene in by_tile(scenes, "33TTM")[:12]:
        scl = render_scene(scene, "SCL")[0]
        seen_classes |= set(np.unique(scl).tolist())
        nir, red_edge, swir = (reflectance_of(scene, b) for b in ("B8A", "B05", "B12"))
        high_cloud = scl == 9
        if high_cloud.any():
            for band in ("B05", "B06", "B07", "B8A", "B11", "B12"):
                assert reflectance_of(scene, band)[high_cloud].min() > 0.2, band
        vegetation, water = scl == 4, scl == 6
        with np.errstate(invalid="ignore", divide="ignore"):  # nodata pixels
            ndvi = (nir - red_edge) / (nir + red_edge)
        if vegetation.sum() > 100:
            assert np.median(ndvi[vegetation]) > 0.3
        if water.sum() > 100:
            assert np.quantile(nir[water], 0.9) < 0.05 and np.median(ndvi[water]) < 0
        clear_sky = surface_reflectance(scene_grid(scene, 20), scene.seed, "B8A", float(scene.datetime.strftime("%j")))
        for scl_class in (3, 4, 5, 6, 10):
            mask = scl == scl_class
            if mask.sum() > 50:
                ratios[scl_class].append(nir[mask] / clear_sky[mask])
        assert swir.shape == scl.shape
    assert {3, 4, 5, 6, 8, 9, 10} <= seen_classes
    median = {k: float(np.median(np.concatenate(v))) for k, v in ratios.items()}
    assert median[3] < 0.7  # cloud shadows are dark
    assert 0.95 < median[4] < 1.05 and 0.95 < median[5] < 1.05  # clear land is the surface itself
    assert median[10] > 1.05  # thin cirrus brightens


def test_crops_green_up_over_the_season(scenes: list[SceneSpec]) -> None:
    full_passes = [s for s in by_tile(scenes, "33TTM") if not s.partial_swath]
    early, late = full_passes[0], full_passes[-3]
    early_scl, late_scl = render_scene(early, "SCL")[0], render_scene(late, "SCL")[0]
    land = np.isin(early_scl, (4, 5)) & np.isin(late_scl, (4, 5))  # clear land on both dates
    assert land.sum() > 10_000
    assert (late_scl[land] == 4).mean() > (early_scl[land] == 4).mean() + 0.1
    ndvi = {}
    for scene in (early, late):
        nir, red_edge = reflectance_of(scene, "B8A")[land], reflectance_of(scene, "B05")[land]
        ndvi[scene] = np.mean((nir - red_edge) / (nir + red_edge))
    assert ndvi[late] > ndvi[early] + 0.05


def test_cloud_cover_property_is_the_scl_cloud_fraction(scenes: list[SceneSpec]) -> None:
    covers = []
    for scene in by_tile(scenes, "32TQR"):
        scl = render_scene(scene, "SCL")[0]
        assets = [AssetFile("SCL", "s3://archive/x/SCL.tif", scl.shape, scene_grid(scene, 20).transform, 20, "uint8")]
        item = build_item(scene, "sentinel-2-l2a", assets, archive_render.cloud_cover(scl))
        valid = scl[scl != 0]
        expected = 100.0 * np.isin(valid, SCL_CLOUD).sum() / valid.size
        assert item["properties"]["eo:cloud_cover"] == pytest.approx(expected, abs=1e-3)
        covers.append(expected)
    assert min(covers) == 0.0 and max(covers) > 30.0
    assert len({round(c) for c in covers}) > 5  # clouds change from pass to pass


def test_both_zones_see_the_same_landscape_and_clouds(scenes: list[SceneSpec]) -> None:
    moment = next(s.datetime for s in scenes if not s.partial_swath and s.processing_baseline == "05.10")
    west_zone = next(s for s in scenes if s.datetime == moment and s.mgrs_tile == "32TQS")
    east_zone = next(s for s in scenes if s.datetime == moment and s.mgrs_tile == "33TTM")
    rng = np.random.default_rng(0)
    lons = rng.uniform(DEFAULT_BBOX[0], DEFAULT_BBOX[2], 2000)
    lats = rng.uniform(DEFAULT_BBOX[1], DEFAULT_BBOX[3] - 0.005, 2000)
    samples = []
    for scene in (west_zone, east_zone):
        scl, transform, epsg = render_scene(scene, "SCL")
        xs, ys = Transformer.from_crs(4326, epsg, always_xy=True).transform(lons, lats)
        rows, cols = rowcol(transform, xs, ys)
        samples.append(scl[np.asarray(rows), np.asarray(cols)])
    assert (samples[0] == samples[1]).mean() > 0.9


def test_items_describe_the_scene(scenes: list[SceneSpec]) -> None:
    scene = next(s for s in by_tile(scenes, "32TQS") if s.partial_swath)
    assets = []
    for band in PROFILE.bands:
        array, transform, _ = render_scene(scene, band)
        key = object_key("sentinel-2-l2a", scene, band)
        assets.append(AssetFile(band, f"s3://archive/{key}", array.shape, transform, PROFILE.resolution(band),
                                array.dtype.name))  # fmt: skip
    item = build_item(scene, "sentinel-2-l2a", assets, 12.5)
    props = item["properties"]
    assert props["proj:epsg"] == 32632 and props["proj:code"] == "EPSG:32632"
    check_projection(item)  # the extension version it declares allows every proj: field it carries
    assert props["s2:mgrs_tile"] == "32TQS" and props["s2:processing_baseline"] == scene.processing_baseline
    assert props["platform"] == scene.platform and props["eo:cloud_cover"] == 12.5
    assert dt.datetime.fromisoformat(props["datetime"].replace("Z", "+00:00")) == scene.datetime
    b04 = item["assets"]["B04"]
    assert b04["href"] == (
        f"s3://archive/sentinel-2-l2a/32TQS/{scene.datetime:%Y/%m/%d}/{scene.item_id}/B04.tif"
    )  # fmt: skip
    assert b04["roles"] == ["data"] and "cloud-optimized" in b04["type"] and b04["type"].startswith("image/tiff")
    assert b04["proj:shape"] == list(render_scene(scene, "B04")[0].shape)
    assert b04["proj:transform"][:3] == [10.0, 0.0, scene.bounds[0]]
    footprint = shape(item["geometry"])
    area = box(*DEFAULT_BBOX)
    # the partial swath covers the eastern part of the area only
    assert footprint.intersects(area) and not footprint.contains(area)
    assert footprint.bounds == pytest.approx(tuple(item["bbox"]))


# --- loading into the local stack ------------------------------------------------------------------------

E2E_BBOX = (11.995, 46.020, 12.005, 46.026)  # 800 m x 700 m on the zone boundary
E2E_DAYS = 6


def read_cog(client, bucket: str, href: str) -> np.ndarray:
    key = href.removeprefix(f"s3://{bucket}/")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    with MemoryFile(io.BytesIO(body).getvalue()) as memory, memory.open() as dataset:
        return dataset.read(1)


@pytest.mark.e2e
def test_synth_loads_s3_and_stac_and_is_idempotent(local_stack) -> None:
    import httpx

    from evalbatch.objectstore import S3Credentials, s3_client
    from ops.archive import synth

    settings = local_stack.settings.model_copy(update={"archive_collection": "sentinel-2-l2a-archive-test"})
    first = synth(settings, bbox=E2E_BBOX, days=E2E_DAYS, seed=SEED, progress=False, workers=1)
    planned = generate_scenes(E2E_BBOX, DEFAULT_START, E2E_DAYS, SEED)
    assert first.scenes == len(planned) > 0 and first.epsg_codes == (32632, 32633)
    assert first.objects == first.scenes * len(PROFILE.bands)

    client = s3_client(S3Credentials.from_settings(settings))
    bucket = settings.archive_bucket
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{settings.archive_collection}/")
    assert listed["KeyCount"] == first.objects

    response = httpx.post(
        f"{settings.stac_url}/search",
        json={"collections": [settings.archive_collection], "bbox": list(E2E_BBOX), "limit": 100},
    )
    response.raise_for_status()
    items = {feature["id"]: feature for feature in response.json()["features"]}
    assert set(items) == {scene.item_id for scene in planned}
    for scene in planned[:3]:
        item = items[scene.item_id]
        scl = read_cog(client, bucket, item["assets"]["SCL"]["href"])
        np.testing.assert_array_equal(scl, render_scene(scene, "SCL")[0])
        valid = scl[scl != 0]
        expected = 100.0 * np.isin(valid, SCL_CLOUD).sum() / valid.size
        assert item["properties"]["eo:cloud_cover"] == pytest.approx(expected, abs=1e-3)
        assert item["properties"]["proj:code"] == f"EPSG:{scene.epsg}"
        np.testing.assert_array_equal(
            read_cog(client, bucket, item["assets"]["B08"]["href"]), render_scene(scene, "B08")[0]
        )

    again = synth(settings, bbox=E2E_BBOX, days=E2E_DAYS, seed=SEED, progress=False, workers=2)
    assert again.item_ids == first.item_ids
    assert (again.objects_uploaded, again.objects_unchanged) == (0, first.objects)
    assert (again.items_created, again.items_updated) == (0, first.scenes)
