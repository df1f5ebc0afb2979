"""Collection profiles: band -> asset key tables and the processing-baseline offset."""

from __future__ import annotations

import pytest

from evalbatch.profiles import boa_offset, dn_to_reflectance, get_profile

L2A_SPECTRAL = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]


def test_local_archive_uses_planetary_computer_asset_keys() -> None:
    local = get_profile("sentinel-2-l2a")
    planetary = get_profile("sentinel-2-l2a", "planetary-computer")
    assert set(local.bands) == {*L2A_SPECTRAL, "SCL"}
    for band in local.bands:
        assert local.asset_key(band) == planetary.asset_key(band) == band


def test_earth_search_names_assets_by_common_name() -> None:
    earth_search = get_profile("sentinel-2-l2a", "earth-search")
    expected = {
        "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2",
        "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09", "B11": "swir16", "B12": "swir22",
        "SCL": "scl",
    }  # fmt: skip
    assert {band: earth_search.asset_key(band) for band in expected} == expected


@pytest.mark.parametrize(
    ("bands", "resolution"),
    [(["B02", "B03", "B04", "B08"], 10), (["B05", "B06", "B07", "B8A", "B11", "B12", "SCL"], 20), (["B01", "B09"], 60)],
)
def test_native_resolutions(bands: list[str], resolution: int) -> None:
    for catalog in ("local", "planetary-computer", "earth-search"):
        profile = get_profile("sentinel-2-l2a", catalog)
        assert [profile.resolution(band) for band in bands] == [resolution] * len(bands)


def test_dtypes_and_units() -> None:
    profile = get_profile("sentinel-2-l2a")
    assert profile.dtype("B04") == "uint16" and profile.units("B04") == "REFLECTANCE"
    assert profile.dtype("SCL") == "uint8" and profile.units("SCL") == "DN"


def test_unknown_band_and_collection_raise_clear_key_errors() -> None:
    with pytest.raises(KeyError, match=r"band 'B10'.*known bands: B01"):
        get_profile("sentinel-2-l2a").asset_key("B10")
    with pytest.raises(KeyError, match=r"AOT"):
        get_profile("sentinel-2-l2a", "local").resolution("AOT")  # public catalogs only
    assert get_profile("sentinel-2-l2a", "earth-search").asset_key("AOT") == "aot"
    with pytest.raises(KeyError, match=r"no profile for collection 'landsat-ot-l2'"):
        get_profile("landsat-ot-l2")
    with pytest.raises(KeyError, match=r"catalog 'nowhere'"):
        get_profile("sentinel-2-l2a", "nowhere")


@pytest.mark.parametrize(
    ("baseline", "offset"),
    [("02.14", 0), ("03.01", 0), ("03.99", 0), ("04.00", -1000), ("05.10", -1000), ("05.11", -1000)],
)
def test_boa_offset_starts_with_baseline_04_00(baseline: str, offset: int) -> None:
    assert boa_offset(baseline) == offset


def test_reflectance_is_harmonised_across_baselines() -> None:
    # The same surface (reflectance 0.25) is DN 2500 before baseline 04.00 and DN 3500 from it on.
    assert dn_to_reflectance(2500, "03.01") == pytest.approx(0.25)
    assert dn_to_reflectance(3500, "05.10") == pytest.approx(0.25)


@pytest.mark.parametrize("baseline", ["5.1", "05", "N0510", ""])
def test_malformed_baseline_is_rejected(baseline: str) -> None:
    with pytest.raises(ValueError, match="processing baseline"):
        boa_offset(baseline)
