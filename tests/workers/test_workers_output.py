"""COG writing, cogParameters, and the overwrite / skipExisting rules (batch-api.md §4.3)."""

from __future__ import annotations

import boto3
import numpy as np
import pytest
import rasterio
from moto import mock_aws
from rio_cogeo.cogeo import cog_validate

from workers.errors import InvalidRequestError, OutputExistsError
from workers.output import CogOptions, StripWriter, check_targets, dtype_of
from workers.tilegrid import TileGrid

GRID = TileGrid.from_tile({"epsg": 32633, "origin": {"coordinates": [300000, 5100000]}, "resolution": 10.0,
                           "widthPx": 600, "heightPx": 520, "bufferX": 0, "bufferY": 0})


@pytest.mark.parametrize(("api_version", "block"), [(1, 1024), (2, 256)])
def test_strips_become_a_valid_cog(tmp_path, api_version, block):
    rng = np.random.default_rng(1)
    data = rng.random((2, GRID.height, GRID.width)).astype(np.float32)
    writer = StripWriter(tmp_path / "raw.tif", GRID, 2, "float32", nodata=-1.0)
    for window in GRID.strips(100):
        rows = slice(int(window.row_off), int(window.row_off + window.height))
        writer.write(data[:, rows, :], window)
    options = CogOptions.from_parameters({"overviewLevels": [2, 4]}, api_version)
    cog = writer.to_cog(tmp_path / "out.tif", options)
    valid, errors, _ = cog_validate(str(cog), quiet=True)
    assert valid, errors
    with rasterio.open(cog) as ds:
        np.testing.assert_array_equal(ds.read(), data)
        assert ds.nodata == -1.0 and ds.crs.to_epsg() == 32633 and ds.transform == GRID.transform
        assert ds.overviews(1) == [2, 4]
        assert ds.block_shapes[0] == (block, block)
        assert ds.compression.name == "deflate"


def test_cog_parameter_validation():
    assert CogOptions.from_parameters({}, 1).blocksize == 1024
    assert CogOptions.from_parameters({"blockxsize": 512}, 2).blocksize == 512
    assert not CogOptions.from_parameters({"usePredictor": False}, 1).predictor
    with pytest.raises(InvalidRequestError):
        CogOptions.from_parameters({"blockxsize": 100}, 1)
    with pytest.raises(InvalidRequestError):
        CogOptions.from_parameters({"resamplingAlgorithm": "magic"}, 1)
    assert dtype_of("AUTO") == "uint8" and dtype_of("FLOAT32") == "float32"


@mock_aws
def test_overwrite_and_skip_existing_rules():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="results")
    urls = ["s3://results/r/t1/default.tiff", "s3://results/r/t1/index.tiff"]
    assert check_targets(s3, urls, overwrite=False, skip_existing=False) is False  # nothing exists
    s3.put_object(Bucket="results", Key="r/t1/default.tiff", Body=b"x")
    with pytest.raises(OutputExistsError, match=r"default\.tiff"):
        check_targets(s3, urls, overwrite=False, skip_existing=False)
    assert check_targets(s3, urls, overwrite=True, skip_existing=False) is False
    assert check_targets(s3, urls, overwrite=True, skip_existing=True) is False  # not all exist: redo
    s3.put_object(Bucket="results", Key="r/t1/index.tiff", Body=b"x")
    assert check_targets(s3, urls, overwrite=True, skip_existing=True) is True  # all exist: skip
    assert check_targets(s3, urls, overwrite=False, skip_existing=True) is True
