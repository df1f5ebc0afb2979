"""The dashboard's server side: the page, the files it loads, and colours generated from the shared table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import dashboard
from api.errors import add_exception_handlers
from evalbatch.plot import STATUS_COLOURS
from evalbatch.states import TileStatus

STATIC_DIR = Path(dashboard.__file__).parent / "static"


class AssetLinks(HTMLParser):
    """The `href` of <link> and `src` of <script> elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"link": "href", "script": "src"}.get(tag)
        self.links.extend(value for name, value in attrs if name == wanted and value)


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    add_exception_handlers(app)
    app.include_router(dashboard.router)
    with TestClient(app) as test_client:
        yield test_client


def test_page_and_every_file_it_loads_are_served(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = AssetLinks()
    parser.feed(page.text)
    assert len(parser.links) == 3
    for link in parser.links:
        assert not link.startswith(("http:", "https:", "//")), f"{link}: the dashboard must work offline"
        asset = client.get(f"/{link}")  # the page is /dashboard, so its relative links resolve from /
        assert asset.status_code == 200, link
        assert asset.headers["content-type"].split(";")[0] in ("text/css", "text/javascript"), link


def test_every_module_import_of_the_scripts_resolves(client: TestClient) -> None:
    scripts = sorted(STATIC_DIR.glob("*.js"))
    assert scripts
    for script in scripts:
        for target in re.findall(r'^import .* from "(.+)";$', script.read_text(), flags=re.MULTILINE):
            assert target.startswith("./"), f"{script.name} imports {target}: only local modules"
            assert client.get(f"/dashboard/static/{target[2:]}").status_code == 200, (script.name, target)


def test_status_colours_come_from_the_shared_table(client: TestClient) -> None:
    css = client.get("/dashboard/status.css")
    assert css.headers["content-type"].startswith("text/css")
    for status in TileStatus:
        rule = re.search(rf'\.tile\[data-status="{status.value}"\][^{{]*\{{([^}}]*)\}}', css.text)
        assert rule is not None, status
        assert f"fill: {STATUS_COLOURS[status.value]};" in rule.group(1)
    config = client.get("/dashboard/config.json").json()
    assert config["statusColours"] == STATUS_COLOURS
    assert config["pollIntervalMs"] > 0


@pytest.mark.parametrize("name", ["missing.js", "..%2F__init__.py", "%2E%2E%2Froutes.py", "__init__.py"])
def test_only_the_static_files_are_served(client: TestClient, name: str) -> None:
    answer = client.get(f"/dashboard/static/{name}")
    assert answer.status_code == 404
    assert "router" not in answer.text


def test_trailing_slash_redirects_to_the_page(client: TestClient) -> None:
    answer = client.get("/dashboard/", follow_redirects=False)
    assert answer.status_code == 308 and answer.headers["location"] == "/dashboard"
