"""Driving the dashboard in headless Chromium (Debian `chromium`, through Playwright): launch, log in, read the map.

Screenshots land in test-artifacts/dashboard/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from matplotlib.colors import to_rgb
from playwright.sync_api import Page, sync_playwright

from evalbatch.plot import STATUS_COLOURS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
LOCALE = "en-US"  # numbers in the page are formatted with toLocaleString
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
WAIT_MS = 15_000  # the page polls every 2 s; allow a few rounds on a busy machine
MISSING_CHROMIUM = f"Debian chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"


@contextmanager
def chromium_page() -> Iterator[tuple[Page, list[str]]]:
    """A page of headless Chromium and the list of uncaught errors its scripts throw (filled while it runs)."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=VIEWPORT, locale=LOCALE)
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, errors
        finally:
            context.close()
            browser.close()


def css_rgb(hex_colour: str) -> str:
    """A colour as getComputedStyle reports it: `rgb(r, g, b)`."""
    r, g, b = (round(channel * 255) for channel in to_rgb(hex_colour))
    return f"rgb({r}, {g}, {b})"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot as test-artifacts/dashboard/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, api_url: str, credentials: dict[str, str]) -> None:
    """Open the dashboard of the API at `api_url` and submit the login form with client credentials."""
    page.goto(f"{api_url}/dashboard")
    page.get_by_label("Client id").fill(credentials["client_id"])
    page.get_by_label("Client secret").fill(credentials["client_secret"])
    page.get_by_role("button", name="Log in").click()


def tile_path(tile_id: int | str) -> str:
    """CSS selector of a tile's SVG patch on the request map."""
    return f'#tile-map path.tile[data-tile-id="{tile_id}"]'


def wait_for_fill(page: Page, tile_id: int | str, status: str, timeout_ms: float = WAIT_MS) -> None:
    """Wait until the tile's SVG patch shows the colour of `status`."""
    page.wait_for_function(
        "([selector, colour]) => { const el = document.querySelector(selector);"
        " return el !== null && getComputedStyle(el).fill === colour; }",
        arg=[tile_path(tile_id), css_rgb(STATUS_COLOURS[status])],
        timeout=timeout_ms,
    )


def wait_for_any_fill(page: Page, status: str, timeout_ms: float = WAIT_MS) -> None:
    """Wait until at least one tile patch shows the colour of `status`."""
    page.wait_for_function(
        "colour => [...document.querySelectorAll('#tile-map path.tile')]"
        ".some(el => getComputedStyle(el).fill === colour)",
        arg=css_rgb(STATUS_COLOURS[status]),
        timeout=timeout_ms,
    )


def map_fills(page: Page) -> dict[str, str]:
    """Tile id -> the fill colour of its patch, as painted now."""
    return page.eval_on_selector_all(
        "#tile-map path.tile",
        "paths => Object.fromEntries(paths.map(p => [p.dataset.tileId, getComputedStyle(p).fill]))",
    )


def facts(page: Page, selector: str) -> dict[str, str]:
    """The term -> description pairs of a <dl> of the page (request or tile facts)."""
    return page.eval_on_selector(
        selector,
        "list => Object.fromEntries([...list.querySelectorAll('dt')].map("
        "term => [term.textContent, term.nextElementSibling.textContent]))",
    )
