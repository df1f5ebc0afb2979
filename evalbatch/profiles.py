"""Collection profiles: which STAC asset holds each evalscript band, at which resolution, type and units.

One table per (collection, catalog). Evalscripts name Sentinel-2 bands the Sentinel Hub way (`B04`, `B8A`,
`SCL`); STAC catalogs name the assets their own way:

- ``planetary-computer`` (Microsoft Planetary Computer): ``B01``..``B12``, ``B8A``, ``SCL``, ``AOT``, ``WVP``;
- ``earth-search`` (Element84 Earth Search v1): ``coastal``, ``blue``, ``green``, ``red``, ``rededge1``..3,
  ``nir``, ``nir08``, ``nir09``, ``swir16``, ``swir22``, ``scl``, ``aot``, ``wvp``;
- ``local`` (the archive ``ops.archive`` generates): the **Planetary Computer naming**, so the band name and
  the asset key coincide and a local archive can be swapped for the public one without a new table. It holds
  the twelve L2A spectral bands and ``SCL`` only.

Sentinel-2 L2A digital numbers become reflectance as ``(DN + boa_offset(baseline)) / BOA_QUANTIFICATION_VALUE``:
products of processing baseline 04.00 and later carry ``BOA_ADD_OFFSET = -1000``, older ones no offset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SENTINEL_2_L2A = "sentinel-2-l2a"
LOCAL = "local"
PLANETARY_COMPUTER = "planetary-computer"
EARTH_SEARCH = "earth-search"

CATALOG_URLS: Mapping[str, str] = MappingProxyType(
    {
        PLANETARY_COMPUTER: "https://planetarycomputer.microsoft.com/api/stac/v1",
        EARTH_SEARCH: "https://earth-search.aws.element84.com/v1",
    }
)

BOA_QUANTIFICATION_VALUE = 10_000
BOA_ADD_OFFSET = -1_000
OFFSET_BASELINE = (4, 0)  # first processing baseline whose products carry BOA_ADD_OFFSET
_BASELINE = re.compile(r"(\d{2})\.(\d{2})")

REFLECTANCE = "REFLECTANCE"
DN = "DN"
OPTICAL_DEPTH = "OPTICAL_DEPTH"


@dataclass(frozen=True)
class BandSpec:
    """One band of a collection as stored in one catalog."""

    name: str
    asset_key: str
    resolution_m: int
    dtype: str
    units: str


@dataclass(frozen=True)
class CollectionProfile:
    """The bands of one collection in one catalog; look-ups raise KeyError naming what is known."""

    collection: str
    catalog: str
    band_specs: Mapping[str, BandSpec]

    @property
    def bands(self) -> tuple[str, ...]:
        """Band names (evalscript spelling) in the catalog's order."""
        return tuple(self.band_specs)

    def band(self, band: str) -> BandSpec:
        """The full description of `band`."""
        try:
            return self.band_specs[band]
        except KeyError:
            raise KeyError(
                f"band {band!r} is not in collection {self.collection!r} of catalog {self.catalog!r}; "
                f"known bands: {', '.join(self.bands)}"
            ) from None

    def asset_key(self, band: str) -> str:
        """STAC asset key that holds `band`."""
        return self.band(band).asset_key

    def resolution(self, band: str) -> int:
        """Native resolution of `band` in metres."""
        return self.band(band).resolution_m

    def dtype(self, band: str) -> str:
        """Stored data type of `band` (numpy spelling)."""
        return self.band(band).dtype

    def units(self, band: str) -> str:
        """Default evalscript units of `band`."""
        return self.band(band).units


# band -> (native resolution m, Earth Search asset key); optical bands are UInt16 DN read as REFLECTANCE.
_S2_L2A_SPECTRAL: dict[str, tuple[int, str]] = {
    "B01": (60, "coastal"),
    "B02": (10, "blue"),
    "B03": (10, "green"),
    "B04": (10, "red"),
    "B05": (20, "rededge1"),
    "B06": (20, "rededge2"),
    "B07": (20, "rededge3"),
    "B08": (10, "nir"),
    "B8A": (20, "nir08"),
    "B09": (60, "nir09"),
    "B11": (20, "swir16"),
    "B12": (20, "swir22"),
}
# band -> (native resolution m, Earth Search asset key, units)
_S2_L2A_AUXILIARY: dict[str, tuple[int, str, str]] = {
    "SCL": (20, "scl", DN),
    "AOT": (10, "aot", OPTICAL_DEPTH),
    "WVP": (10, "wvp", DN),
}
_LOCAL_AUXILIARY = ("SCL",)


def _s2_l2a_profile(catalog: str) -> CollectionProfile:
    specs: dict[str, BandSpec] = {}
    for name, (resolution, earth_search_key) in _S2_L2A_SPECTRAL.items():
        key = earth_search_key if catalog == EARTH_SEARCH else name
        specs[name] = BandSpec(name, key, resolution, "uint16", REFLECTANCE)
    for name, (resolution, earth_search_key, units) in _S2_L2A_AUXILIARY.items():
        if catalog == LOCAL and name not in _LOCAL_AUXILIARY:
            continue
        key = earth_search_key if catalog == EARTH_SEARCH else name
        dtype = "uint8" if name == "SCL" else "uint16"
        specs[name] = BandSpec(name, key, resolution, dtype, units)
    return CollectionProfile(SENTINEL_2_L2A, catalog, MappingProxyType(specs))


PROFILES: Mapping[tuple[str, str], CollectionProfile] = MappingProxyType(
    {(SENTINEL_2_L2A, catalog): _s2_l2a_profile(catalog) for catalog in (LOCAL, PLANETARY_COMPUTER, EARTH_SEARCH)}
)


def get_profile(collection: str, catalog: str = LOCAL) -> CollectionProfile:
    """The profile of `collection` in `catalog` ("local", "planetary-computer" or "earth-search")."""
    try:
        return PROFILES[(collection, catalog)]
    except KeyError:
        known = ", ".join(f"{c}@{k}" for c, k in PROFILES)
        raise KeyError(f"no profile for collection {collection!r} in catalog {catalog!r}; known: {known}") from None


def parse_baseline(baseline: str) -> tuple[int, int]:
    """Split a processing baseline such as "05.10" into (5, 10); ValueError for anything else."""
    match = _BASELINE.fullmatch(baseline.strip())
    if match is None:
        raise ValueError(f"processing baseline must look like '05.10', got {baseline!r}")
    return int(match[1]), int(match[2])


def boa_offset(baseline: str) -> int:
    """DN offset to add before dividing by BOA_QUANTIFICATION_VALUE: -1000 from baseline 04.00 on, else 0."""
    return BOA_ADD_OFFSET if parse_baseline(baseline) >= OFFSET_BASELINE else 0


def dn_to_reflectance(dn: float, baseline: str) -> float:
    """Harmonised reflectance of one L2A digital number (no clamping; nodata handling is the caller's)."""
    return (dn + boa_offset(baseline)) / BOA_QUANTIFICATION_VALUE
