"""Fixtures of the dashboard tests: a headless Chromium page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboard.browser import chromium_page
from playwright.sync_api import Page


@pytest.fixture
def page() -> Iterator[Page]:
    """A page of headless Chromium; the test errors if the page's scripts threw an uncaught exception."""
    with chromium_page() as (new_page, errors):
        yield new_page
    assert not errors, f"uncaught errors in the page: {errors}"
