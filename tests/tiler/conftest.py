"""Fixtures for the tiler tests."""

import pytest

from tiler import AOI, parse_bounds
from tiler.samples import conus_bounds


@pytest.fixture(scope="session")
def conus() -> AOI:
    """The shipped contiguous-US outline as an AOI."""
    return parse_bounds(conus_bounds())
