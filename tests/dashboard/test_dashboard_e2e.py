"""The dashboard on real work: the session's stack (API, rq workers, sample archive, S3, STAC) in headless Chromium.

The test logs in, analyses and starts the demo request with the dashboard's own buttons and watches the map while
the workers process it: every patch goes from PENDING through the colours of waiting and running tiles to the
colour of PROCESSED, and each tile's details show the seconds and output URLs the API reports (the outputs exist
in S3). Then it cancels another request from the page. Screenshots land in test-artifacts/dashboard/.
"""

from __future__ import annotations

from typing import Any

import pytest
from dashboard.browser import (
    CHROMIUM,
    MISSING_CHROMIUM,
    css_rgb,
    facts,
    log_in,
    map_fills,
    screenshot,
    tile_path,
    wait_for_any_fill,
    wait_for_fill,
)
from playwright.sync_api import Page, Route, expect

from evalbatch import accounts
from evalbatch.plot import STATUS_COLOURS
from evalbatch.settings import Settings
from evalbatch.spec import split_s3_url
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store
from ops.api_client import ApiClient
from ops.demo import demo_request_body
from ops.services import LocalStack

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING_CHROMIUM)]

WATCHED = "dashboard e2e: demo request"
TO_CANCEL = "dashboard e2e: request to cancel"
OUTPUT_PREFIX = "dashboard-e2e"
# The page polls every 2 s; here every 250 ms, so it paints each tile while it waits or runs: a tile runs for
# seconds after it was queued.
FAST_POLL_MS = 250
ANALYSIS_TIMEOUT_MS = 240_000
PROCESSING_TIMEOUT_MS = 360_000
# A tile's statuses in the order the workers set them (FAILED never happens to the demo request).
LIFECYCLE = [TileStatus.PENDING, TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING, TileStatus.PROCESSED]
WAITING_OR_RUNNING = {TileStatus.SCHEDULED, TileStatus.QUEUED, TileStatus.PROCESSING}
# Keeps, per tile id, the statuses its patch showed, in order (consecutive repeats dropped).
RECORD_TILE_STATUSES = """() => {
  const map = document.getElementById("tile-map");
  const history = {};
  const note = (path) => {
    const seen = (history[path.dataset.tileId] ||= []);
    if (seen[seen.length - 1] !== path.dataset.status) seen.push(path.dataset.status);
  };
  map.querySelectorAll("path.tile").forEach(note);
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of [change.target, ...change.addedNodes]) {
        if (node instanceof Element && node.matches("path.tile")) note(node);
      }
    }
  }).observe(map, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"] });
  window.tileStatusHistory = history;
}"""


@pytest.fixture
def api_url(processing_stack: LocalStack) -> str:
    """The URL of the stack's API (it serves the dashboard at /dashboard)."""
    return processing_stack.describe()["urls"]["api"]


@pytest.fixture
def credentials(store: Store) -> dict[str, str]:
    """A new OAuth client and account on the stack's Redis."""
    return accounts.create_client(store.redis, name="dashboard-e2e")


def demo_body(settings: Settings, description: str) -> dict[str, Any]:
    """The demo's v1 create body, writing below results/dashboard-e2e/."""
    body = demo_request_body(settings.results_bucket)
    body["output"]["defaultTilePath"] = f"s3://{settings.results_bucket}/{OUTPUT_PREFIX}"
    body["description"] = description
    return body


def poll_every(page: Page, interval_ms: int) -> None:
    """Serve the page its real config.json with a shorter poll interval."""

    def shorten(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "pollIntervalMs": interval_ms})

    page.route("**/dashboard/config.json", shorten)


def assert_tiles_went_through_their_lifecycle(history: dict[str, list[str]], tile_ids: list[int]) -> None:
    """Each patch showed PENDING, then the colour of a waiting or running tile, then PROCESSED, never going back."""
    assert set(history) == {str(tile_id) for tile_id in tile_ids}
    for tile_id, seen in history.items():
        assert set(seen) <= set(LIFECYCLE), (tile_id, seen)
        assert seen == sorted(seen, key=LIFECYCLE.index), (tile_id, seen)
        assert seen[0] == TileStatus.PENDING and seen[-1] == TileStatus.PROCESSED, (tile_id, seen)
        assert WAITING_OR_RUNNING & set(seen), (tile_id, seen)


def assert_tile_details(page: Page, tile: dict[str, Any], s3: Any) -> None:
    """Select the tile on the map; its details show the API's status, seconds and outputs, which exist in S3."""
    page.locator(tile_path(tile["id"])).press("Enter")  # keyboard: cells of two UTM zones overlap
    expect(page.locator("#tile-facts dt:text-is('Id') + dd")).to_have_text(str(tile["id"]))
    shown = facts(page, "#tile-facts")
    assert shown["Status"] == TileStatus.PROCESSED
    assert float(shown["Seconds"].removesuffix(" s").replace(",", "")) == pytest.approx(tile["seconds"], abs=1e-3)
    assert tile["outputs"]
    for identifier, url in tile["outputs"].items():
        assert f"{identifier}: {url}" in shown["Outputs"]
        bucket, key = split_s3_url(url)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0


def test_dashboard_follows_the_workers_through_a_demo_request_and_cancels_another(
    page: Page, processing_stack: LocalStack, api_url: str, credentials: dict[str, str]
) -> None:
    settings = processing_stack.settings
    with ApiClient(api_url, credentials["client_id"], credentials["client_secret"]) as api:
        watched_id = api.create(demo_body(settings, WATCHED))["id"]
        cancel_id = api.create(demo_body(settings, TO_CANCEL))["id"]

        poll_every(page, FAST_POLL_MS)
        log_in(page, api_url, credentials)
        expect(page.locator("#request-rows tr")).to_have_count(2)
        page.get_by_role("link", name=WATCHED).click()
        request_facts = page.locator("#request-facts")
        expect(request_facts).to_have_attribute("data-status", RequestStatus.CREATED.value)
        expect(page.locator("#no-tiles")).to_be_visible()

        page.get_by_role("button", name="Analyse").click()
        expect(request_facts).to_have_attribute(
            "data-status", RequestStatus.ANALYSIS_DONE.value, timeout=ANALYSIS_TIMEOUT_MS
        )
        tile_ids = [tile["id"] for tile in api.tiles(watched_id)]
        assert len(tile_ids) >= 2  # the demo AOI straddles two UTM zones
        expect(page.locator("#tile-map path.tile")).to_have_count(len(tile_ids))
        for tile_id in tile_ids:
            wait_for_fill(page, tile_id, TileStatus.PENDING)
        page.evaluate(RECORD_TILE_STATUSES)
        screenshot(page, "e2e-1-analysed")

        page.get_by_role("button", name="Start", exact=True).click()
        wait_for_any_fill(page, TileStatus.PROCESSED, PROCESSING_TIMEOUT_MS)
        screenshot(page, "e2e-2-first-tile-done")  # the other patches are most likely still waiting or running
        expect(request_facts).to_have_attribute("data-status", RequestStatus.DONE.value, timeout=PROCESSING_TIMEOUT_MS)
        for tile_id in tile_ids:
            wait_for_fill(page, tile_id, TileStatus.PROCESSED)
        assert map_fills(page) == {str(tile_id): css_rgb(STATUS_COLOURS[TileStatus.PROCESSED]) for tile_id in tile_ids}
        assert_tiles_went_through_their_lifecycle(page.evaluate("window.tileStatusHistory"), tile_ids)
        expect(page.locator("#legend")).to_contain_text(f"{TileStatus.PROCESSED} {len(tile_ids)}")
        assert facts(page, "#request-facts")["Tiles"] == f"{len(tile_ids)} of {len(tile_ids)} finished"

        s3 = processing_stack.s3.client()
        for tile in api.tiles(watched_id):
            assert_tile_details(page, tile, s3)
        screenshot(page, "e2e-3-processed")

        page.get_by_role("link", name="All requests").click()
        expect(page.locator(f'tr[data-request-id="{watched_id}"]')).to_contain_text(
            f"{len(tile_ids)}/{len(tile_ids)}"
        )
        page.get_by_role("link", name=TO_CANCEL).click()
        expect(request_facts).to_have_attribute("data-status", RequestStatus.CREATED.value)
        page.get_by_role("button", name="Cancel").click()
        expect(request_facts).to_have_attribute("data-status", RequestStatus.CANCELED.value)
        assert api.request(cancel_id)["status"] == RequestStatus.CANCELED
        assert api.request(watched_id)["status"] == RequestStatus.DONE
        screenshot(page, "e2e-4-canceled")
