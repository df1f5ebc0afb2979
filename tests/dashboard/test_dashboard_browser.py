"""The dashboard in headless Chromium against the real API and Redis; the test plays the workers via the Store.

This covers what the end-to-end test on real workers (test_dashboard_e2e.py) cannot bring about on demand: all six
tile statuses on one map, a failed tile's error and peak memory, more tiles than one page, the refused restart
and wrong credentials. Screenshots land in test-artifacts/dashboard/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from dashboard.browser import (
    CHROMIUM,
    MISSING_CHROMIUM,
    css_rgb,
    log_in,
    map_fills,
    screenshot,
    tile_path,
    wait_for_fill,
)
from dashboard.live_api import LARGE_BBOX, LiveApi, analysed_tiles, create_body, running_api
from playwright.sync_api import Page, expect
from support.redis_server import RedisServer

from evalbatch.plot import STATUS_COLOURS
from evalbatch.states import RESTART_PARTIAL_MESSAGE, RequestStatus, TileStatus

FAILED_TILE_ERROR = "evaluatePixel: ReferenceError: B99 is not defined"
OUTPUT_URL = "s3://results/dashboard/32TQR_2_0/default.tif"
EXPECTED_PU, ESTIMATED_PU = 120.5, 96.25
PEAK_MEMORY_BYTES = 3 * 1024**3 // 2  # shown as 1.5 GiB

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING_CHROMIUM)


@pytest.fixture
def live_api(redis_server: RedisServer) -> Iterator[LiveApi]:
    with running_api(redis_server.url) as live:
        yield live


def assert_map_matches_store(page: Page, live: LiveApi, request_id: str) -> None:
    """Every patch has the colour of its tile's status in the store."""
    tiles = live.store.get_tiles(request_id, list(live.store.iter_tile_ids(request_id)))
    assert map_fills(page) == {str(tile["id"]): css_rgb(STATUS_COLOURS[tile["status"]]) for tile in tiles}


def test_dashboard_map_follows_tile_statuses_and_actions_reach_the_api(page: Page, live_api: LiveApi) -> None:
    credentials = live_api.new_client("dashboard")
    with live_api.connect(credentials) as api:
        mapped_id = api.create(create_body("tiles map", LARGE_BBOX))["id"]
        cancel_id = api.create(create_body("to cancel"))["id"]
    store = live_api.store
    tiles = analysed_tiles(mapped_id, LARGE_BBOX)  # more than one page: the page must follow nextToken
    tile_ids = [tile["id"] for tile in tiles]
    store.put_tiles(mapped_id, tiles)
    store.update_request(
        mapped_id, tileCount=len(tiles), valueEstimate=EXPECTED_PU, estimate={"processingUnits": ESTIMATED_PU}
    )
    assert store.transition(mapped_id, RequestStatus.PROCESSING, [RequestStatus.CREATED])
    store.set_tile_status(mapped_id, tile_ids[0], TileStatus.PROCESSED)
    store.update_tile_info(mapped_id, tile_ids[0], attempts=1, seconds=4.2, outputs={"default": OUTPUT_URL})

    log_in(page, live_api.url, credentials)
    rows = page.locator("#request-rows tr")
    expect(rows).to_have_count(2)
    mapped_row = page.locator(f'tr[data-request-id="{mapped_id}"]')
    expect(mapped_row).to_contain_text(f"1/{len(tiles)}")
    expect(mapped_row).to_contain_text(f"{ESTIMATED_PU} PU")  # our estimate is preferred to valueEstimate
    screenshot(page, "1-requests")

    page.get_by_role("link", name="tiles map").click()
    expect(page.locator("#tile-map path.tile")).to_have_count(len(tiles))
    expect(page.locator("#tile-map path.aoi")).to_have_count(1)
    expect(page.locator("#no-tiles")).to_be_hidden()
    wait_for_fill(page, tile_ids[0], TileStatus.PROCESSED)
    assert_map_matches_store(page, live_api, mapped_id)

    # the workers move on: the page must repaint the patches while it stays open
    changes = {
        tile_ids[1]: TileStatus.QUEUED,
        tile_ids[2]: TileStatus.PROCESSING,
        tile_ids[3]: TileStatus.FAILED,
        tile_ids[0]: TileStatus.PROCESSED,
        tile_ids[-1]: TileStatus.SCHEDULED,
    }
    store.update_tile_info(
        mapped_id, tile_ids[3], attempts=2, seconds=1.25, peakMemoryBytes=PEAK_MEMORY_BYTES, error=FAILED_TILE_ERROR
    )
    for tile_id, status in changes.items():
        store.set_tile_status(mapped_id, tile_id, status)
    for tile_id, status in changes.items():
        wait_for_fill(page, tile_id, status)
    assert_map_matches_store(page, live_api, mapped_id)
    expect(page.locator("#legend")).to_contain_text("FAILED 1")

    page.locator(tile_path(tile_ids[3])).press("Enter")  # keyboard: cells of two UTM zones overlap
    details = page.locator("#tile-facts")
    expect(details).to_contain_text(FAILED_TILE_ERROR)
    expect(details).to_contain_text("1.5 GiB")
    expect(details).to_contain_text("Attempts2")
    screenshot(page, "2-request-map")
    page.locator(tile_path(tile_ids[0])).press("Enter")
    expect(details).to_contain_text(f"default: {OUTPUT_URL}")

    page.get_by_role("link", name="All requests").click()
    page.get_by_role("link", name="to cancel").click()
    expect(page.locator("#request-facts")).to_have_attribute("data-status", RequestStatus.CREATED.value)
    expect(page.locator("#no-tiles")).to_be_visible()  # not analysed: the map shows only the AOI
    expect(page.locator("#tile-map path")).to_have_count(1)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#request-facts")).to_have_attribute("data-status", RequestStatus.CANCELED.value)
    assert store.get_request(cancel_id)["status"] == RequestStatus.CANCELED
    assert store.get_request(mapped_id)["status"] == RequestStatus.PROCESSING

    page.get_by_role("button", name="Restart failed tiles").click()
    expect(page.get_by_role("alert")).to_have_text(RESTART_PARTIAL_MESSAGE)
    screenshot(page, "3-canceled-with-error")


def test_wrong_credentials_show_the_token_endpoint_message(page: Page, live_api: LiveApi) -> None:
    wrong = {**live_api.new_client("wrong"), "client_secret": "not the secret"}
    refusal = httpx.post(f"{live_api.url}/oauth/token", data={"grant_type": "client_credentials", **wrong})
    assert refusal.status_code == 401
    log_in(page, live_api.url, wrong)
    expect(page.get_by_role("alert")).to_have_text(f"Login failed: {refusal.json()['error_description']}")
    expect(page.locator("#list-view")).to_be_hidden()
