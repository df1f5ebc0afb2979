"""Render the rasters of one synthetic Sentinel-2 L2A scene: land cover, phenology, clouds, shadows, cirrus.

The landscape is a deterministic function of longitude/latitude and the seed (see `ops.archive_fields`):
water in the lowlands, forest on the hills, towns, and crop parcels (about 300 m x 330 m) that green up and
are harvested on their own dates, with a few bare fallow parcels. The weather is a function of place and
sensing time: clouds drift so fast that every pass sees a new pattern, their shadows fall north-north-west of
them (sun in the south-south-east), and on some passes thin cirrus brightens everything a little.

Clouds, shadows and cirrus are computed once per scene on the 20 m grid (the grid of SCL, so SCL and the
20 m bands agree exactly), interpolated to 10 m and averaged to 60 m; land cover is evaluated on each grid.
Reflectance becomes UInt16 DN as ``round(10000 * reflectance) - boa_offset(baseline)``, at least 1; 0 is nodata.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from affine import Affine
from scipy import ndimage

from evalbatch.profiles import BOA_QUANTIFICATION_VALUE, SENTINEL_2_L2A, boa_offset, get_profile
from ops.archive_fields import cell_values, fractal_noise, hash_unit
from ops.archive_grid import to_lonlat
from ops.archive_scenes import SceneSpec, in_swath

PROFILE = get_profile(SENTINEL_2_L2A, "local")
SPECTRAL_BANDS = tuple(b for b in PROFILE.bands if b != "SCL")
WEATHER_RES = 20

# Land cover classes (internal codes) and the SCL class each one shows when clear.
WATER, FOREST, CROP, BARE, URBAN = range(5)
SCL_NODATA, SCL_SHADOW, SCL_VEGETATION, SCL_BARE, SCL_WATER = 0, 3, 4, 5, 6
SCL_LOW_CLOUD, SCL_MEDIUM_CLOUD, SCL_HIGH_CLOUD, SCL_CIRRUS = 7, 8, 9, 10
CLOUD_CLASSES = (SCL_MEDIUM_CLOUD, SCL_HIGH_CLOUD, SCL_CIRRUS)  # counted in eo:cloud_cover

# Surface reflectance per band, in the order of SPECTRAL_BANDS (B01..B09, B11, B12).
SPECTRA = {
    "water": (0.060, 0.052, 0.046, 0.030, 0.024, 0.020, 0.018, 0.014, 0.012, 0.010, 0.008, 0.006),
    "forest": (0.030, 0.028, 0.050, 0.026, 0.080, 0.220, 0.270, 0.300, 0.310, 0.300, 0.160, 0.080),
    "green": (0.032, 0.040, 0.085, 0.040, 0.125, 0.320, 0.400, 0.450, 0.460, 0.440, 0.220, 0.110),
    "soil": (0.085, 0.095, 0.125, 0.160, 0.180, 0.200, 0.210, 0.225, 0.235, 0.230, 0.300, 0.250),
    "urban": (0.100, 0.105, 0.115, 0.125, 0.135, 0.145, 0.150, 0.160, 0.165, 0.160, 0.190, 0.175),
    "cloud": (0.560, 0.550, 0.540, 0.540, 0.540, 0.540, 0.540, 0.530, 0.520, 0.480, 0.450, 0.340),
    "cirrus": (0.080, 0.075, 0.070, 0.065, 0.065, 0.060, 0.060, 0.060, 0.060, 0.050, 0.040, 0.030),
}

# Noise layers (one per field, so fields are independent).
_ELEVATION, _LAND_USE, _PARCEL, _GREEN_UP, _SEASON, _CLOUD, _CIRRUS, _WEATHER, _TEXTURE = range(1, 10)
PARCEL_DEG = (0.004, 0.003)
CLOUD_DRIFT_DEG_PER_DAY = 0.7
SHADOW_OFFSET_M = (700.0, -1200.0)  # from a shadow to the cloud casting it: east, north
SHADOW_DARKENING = 0.65


@dataclass(frozen=True)
class Grid:
    """A raster grid of a scene at one resolution."""

    epsg: int
    bounds: tuple[int, int, int, int]
    res: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        minx, miny, maxx, maxy = self.bounds
        return (maxy - miny) // self.res, (maxx - minx) // self.res

    @property
    def transform(self) -> Affine:
        """Affine transform of the upper-left corner."""
        return Affine(self.res, 0.0, self.bounds[0], 0.0, -self.res, self.bounds[3])


def scene_grid(scene: SceneSpec, res: int) -> Grid:
    """The grid of `scene` at resolution `res` metres."""
    return Grid(scene.epsg, scene.bounds, res)


@lru_cache(maxsize=16)
def pixel_lonlat(grid: Grid, pad_rows: int = 0, pad_cols: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of the pixel centres of `grid`, extended by pad rows (south) and columns (east)."""
    rows, cols = grid.shape
    minx, _, _, maxy = grid.bounds
    xs = minx + (np.arange(cols + pad_cols) + 0.5) * grid.res
    ys = maxy - (np.arange(rows + pad_rows) + 0.5) * grid.res
    x2, y2 = np.meshgrid(xs, ys)
    lon, lat = to_lonlat(grid.epsg).transform(x2, y2)
    return np.asarray(lon), np.asarray(lat)


@dataclass(frozen=True)
class Landscape:
    """Land cover of one grid: class per pixel, parcel green-up/harvest days, brightness texture."""

    classes: np.ndarray
    green_up_doy: np.ndarray
    harvest_doy: np.ndarray
    texture: np.ndarray


@lru_cache(maxsize=16)
def landscape(grid: Grid, seed: int) -> Landscape:
    """The date-independent land cover of `grid`."""
    lon, lat = pixel_lonlat(grid)
    elevation = fractal_noise(lon, lat, seed, _ELEVATION, 0.04)
    land_use = fractal_noise(lon, lat, seed, _LAND_USE, 0.025)
    parcel = cell_values(lon, lat, seed, _PARCEL, PARCEL_DEG)
    classes = np.full(lon.shape, CROP, dtype=np.uint8)
    classes[parcel < 0.12] = BARE
    classes[land_use > 0.64] = URBAN
    classes[elevation > 0.60] = FOREST
    classes[elevation < 0.33] = WATER
    green_up = 110.0 + 60.0 * cell_values(lon, lat, seed, _GREEN_UP, PARCEL_DEG)
    harvest = green_up + 50.0 + 40.0 * cell_values(lon, lat, seed, _SEASON, PARCEL_DEG)
    texture = 0.12 * (fractal_noise(lon, lat, seed, _TEXTURE, 0.004, octaves=2) - 0.5)
    return Landscape(classes, green_up.astype(np.float32), harvest.astype(np.float32), texture.astype(np.float32))


@dataclass(frozen=True)
class Weather:
    """Per-pixel cloud opacity, shadow strength and cirrus opacity (0..1) of one scene on one grid."""

    cloud: np.ndarray
    shadow: np.ndarray
    cirrus: np.ndarray


def pass_cloudiness(seed: int, scene: SceneSpec) -> tuple[float, float]:
    """(cloud threshold, cirrus threshold) of one pass: higher thresholds mean fewer clouds, > 1 none."""
    key = int(scene.datetime.timestamp())
    cloud_draw, cirrus_draw = hash_unit(seed, _WEATHER, np.array([key, key]), np.array([0, 1]))
    cloud_threshold = 1.5 if cloud_draw > 0.8 else 0.42 + 0.3 * cloud_draw
    cirrus_threshold = 0.6 if cirrus_draw < 0.3 else 1.5
    return cloud_threshold, cirrus_threshold


@lru_cache(maxsize=2)
def weather_20m(scene: SceneSpec) -> Weather:
    """Clouds, shadows and cirrus of `scene` on its 20 m grid."""
    grid = scene_grid(scene, WEATHER_RES)
    rows, cols = grid.shape
    shift_cols = round(SHADOW_OFFSET_M[0] / WEATHER_RES)
    shift_rows = round(-SHADOW_OFFSET_M[1] / WEATHER_RES)
    lon, lat = pixel_lonlat(grid, shift_rows, shift_cols)
    days = scene.datetime.timestamp() / 86400.0
    cloud_threshold, cirrus_threshold = pass_cloudiness(scene.seed, scene)
    if cloud_threshold > 1.0:
        opacity = np.zeros(lon.shape, dtype=np.float32)
    else:
        field = fractal_noise(lon - CLOUD_DRIFT_DEG_PER_DAY * days, lat, scene.seed, _CLOUD, 0.03, octaves=4)
        opacity = np.clip((field - cloud_threshold) / 0.06, 0.0, 1.0).astype(np.float32)
    cloud = opacity[:rows, :cols]
    shadow = opacity[shift_rows:, shift_cols:] * (1.0 - cloud)
    if cirrus_threshold > 1.0:
        cirrus = np.zeros_like(cloud)
    else:
        field = fractal_noise(lon[:rows, :cols] + 0.3 * days, lat[:rows, :cols], scene.seed, _CIRRUS, 0.05, 2)
        cirrus = (0.8 * np.clip((field - cirrus_threshold) / 0.1, 0.0, 1.0)).astype(np.float32)
    return Weather(cloud, shadow.astype(np.float32), cirrus)


@lru_cache(maxsize=6)
def weather(scene: SceneSpec, res: int) -> Weather:
    """Clouds, shadows and cirrus of `scene` at resolution `res` (10, 20 or 60 m)."""
    base = weather_20m(scene)
    if res == WEATHER_RES:
        return base
    if res < WEATHER_RES:
        factor = WEATHER_RES // res
        return Weather(*(_upsample(a, factor) for a in (base.cloud, base.shadow, base.cirrus)))
    factor = res // WEATHER_RES
    return Weather(*(_block_mean(a, factor) for a in (base.cloud, base.shadow, base.cirrus)))


def _upsample(array: np.ndarray, factor: int) -> np.ndarray:
    return ndimage.zoom(array, factor, order=1, mode="nearest", grid_mode=True).astype(np.float32)


def _block_mean(array: np.ndarray, factor: int) -> np.ndarray:
    rows, cols = array.shape
    return array.reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3)).astype(np.float32)


@lru_cache(maxsize=6)
def crop_green(grid: Grid, seed: int, doy: float) -> np.ndarray:
    """Green cover (0..1) of every pixel's crop parcel on day-of-year `doy` (cached per grid and day)."""
    return green_fraction(landscape(grid, seed), doy)


def green_fraction(land: Landscape, doy: float) -> np.ndarray:
    """Green cover of crop parcels on day-of-year `doy`: logistic green-up, then harvest."""
    growing = 1.0 / (1.0 + np.exp(-(doy - land.green_up_doy) / 6.0))
    harvested = 1.0 / (1.0 + np.exp(-(doy - land.harvest_doy) / 3.0))
    return (growing * (1.0 - harvested)).astype(np.float32)


def surface_reflectance(grid: Grid, seed: int, band: str, doy: float) -> np.ndarray:
    """Clear-sky reflectance of every pixel of `grid` in `band` on day-of-year `doy`."""
    index = SPECTRAL_BANDS.index(band)
    land = landscape(grid, seed)
    green = crop_green(grid, seed, doy)
    by_class = np.array(
        [SPECTRA[name][index] for name in ("water", "forest", "soil", "soil", "urban")], dtype=np.float32
    )
    values = by_class[land.classes]
    crop = land.classes == CROP
    values[crop] += green[crop] * np.float32(SPECTRA["green"][index] - SPECTRA["soil"][index])
    return values * (1.0 + land.texture)


def valid_mask(scene: SceneSpec, grid: Grid) -> np.ndarray:
    """True where the scene has data (read-only array)."""
    return swath_mask(grid) if scene.partial_swath else full_mask(grid.shape)


@lru_cache(maxsize=8)
def swath_mask(grid: Grid) -> np.ndarray:
    """True on the pixels of `grid` that the partial swath images."""
    lon, lat = pixel_lonlat(grid)
    mask = in_swath(lon, lat)
    mask.flags.writeable = False
    return mask


@lru_cache(maxsize=8)
def full_mask(shape: tuple[int, int]) -> np.ndarray:
    """An all-True read-only mask."""
    mask = np.ones(shape, dtype=bool)
    mask.flags.writeable = False
    return mask


def reflectance(scene: SceneSpec, band: str) -> np.ndarray:
    """Top-of-canopy reflectance seen through the weather of `scene` (float32, before quantisation)."""
    grid = scene_grid(scene, PROFILE.resolution(band))
    sky = weather(scene, grid.res)
    index = SPECTRAL_BANDS.index(band)
    value = surface_reflectance(grid, scene.seed, band, _day_of_year(scene))
    value *= 1.0 - SHADOW_DARKENING * sky.shadow
    value += sky.cirrus * SPECTRA["cirrus"][index]
    value = (1.0 - sky.cloud) * value + sky.cloud * SPECTRA["cloud"][index]
    return value


def scene_classification(scene: SceneSpec) -> np.ndarray:
    """The SCL band of `scene` (uint8, 20 m)."""
    grid = scene_grid(scene, PROFILE.resolution("SCL"))
    land = landscape(grid, scene.seed)
    sky = weather(scene, grid.res)
    by_class = np.array([SCL_WATER, SCL_VEGETATION, SCL_BARE, SCL_BARE, SCL_BARE], dtype=np.uint8)
    scl = by_class[land.classes]
    scl[(land.classes == CROP) & (crop_green(grid, scene.seed, _day_of_year(scene)) > 0.35)] = SCL_VEGETATION
    scl[sky.shadow > 0.5] = SCL_SHADOW
    scl[sky.cirrus > 0.25] = SCL_CIRRUS
    scl[sky.cloud >= 0.1] = SCL_LOW_CLOUD
    scl[sky.cloud >= 0.3] = SCL_MEDIUM_CLOUD
    scl[sky.cloud >= 0.65] = SCL_HIGH_CLOUD
    scl[~valid_mask(scene, grid)] = SCL_NODATA
    return scl


def to_digital_numbers(values: np.ndarray, baseline: str, valid: np.ndarray) -> np.ndarray:
    """Quantise reflectance to L2A UInt16 DN of processing baseline `baseline`; 0 outside `valid`."""
    dn = np.rint(values * BOA_QUANTIFICATION_VALUE) - boa_offset(baseline)
    dn = np.clip(dn, 1, np.iinfo(np.uint16).max).astype(np.uint16)
    dn[~valid] = 0
    return dn


def render_scene(scene: SceneSpec, band: str) -> tuple[np.ndarray, Affine, int]:
    """The raster of `band` in `scene` exactly as archived: (2-D array, affine transform, EPSG code)."""
    grid = scene_grid(scene, PROFILE.resolution(band))
    if band == "SCL":
        return scene_classification(scene), grid.transform, grid.epsg
    dn = to_digital_numbers(reflectance(scene, band), scene.processing_baseline, valid_mask(scene, grid))
    return dn, grid.transform, grid.epsg


def cloud_cover(scl: np.ndarray) -> float:
    """Percentage of valid SCL pixels that are medium/high-probability cloud or thin cirrus."""
    valid = scl != SCL_NODATA
    if not valid.any():
        return 0.0
    return round(100.0 * float(np.isin(scl[valid], CLOUD_CLASSES).mean()), 4)


def _day_of_year(scene: SceneSpec) -> float:
    return float(scene.datetime.timetuple().tm_yday)


def clear_caches() -> None:
    """Forget every cached grid, landscape and weather (frees memory; lets tests recompute from scratch)."""
    for cached in (pixel_lonlat, landscape, weather_20m, weather, crop_green, swath_mask, full_mask):
        cached.cache_clear()
