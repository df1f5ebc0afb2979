"""The API with the dashboard, served by uvicorn in a thread on a free port, for browser and CLI tests.

Tests play the workers' side by writing tiles and statuses straight into the `Store` of the same Redis.
`RequestLog` records the calls the server received and answered, so a test can wait until a client (the
page, the CLI) has polled again after a change instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
import uvicorn
from fastapi import FastAPI, Request, Response

from api import dashboard
from api.app import create_app
from evalbatch import accounts
from evalbatch.settings import Settings
from evalbatch.store import Store
from ops.api_client import ApiClient
from ops.ports import free_port
from tiler import parse_bounds, tiles_for_aoi

SIGNING_KEY = "dashboard-tests-signing-key-of-sufficient-length"
STARTUP_TIMEOUT_S = 30.0
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# Straddles the UTM 32/33 boundary at 12°E: ten cells of grid 1 (10 km) in four MGRS squares.
MAP_BBOX = (11.9, 45.95, 12.2, 46.1)
# 168 cells of grid 1 on both sides of 12°E: more than one page (100) of tiles.
LARGE_BBOX = (11.3, 45.5, 12.7, 46.5)
GRID_ID, RESOLUTION = 1, 10.0
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
"""


@dataclass
class RequestLog:
    """The calls the server received, in order, and which of them it has answered; thread-safe.

    To wait until a client has seen a change: make the change, take `mark()`, then `wait_for_answer()`
    to a call started after the mark (so its answer reflects the change).
    """

    calls: list[tuple[str, str]] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def begin(self, method: str, path: str) -> int:
        """Record a received call; returns its index."""
        with self.changed:
            self.calls.append((method, path))
            return len(self.calls) - 1

    def end(self, index: int) -> None:
        """Record that call `index` was answered."""
        with self.changed:
            self.answered.add(index)
            self.changed.notify_all()

    def mark(self) -> int:
        """The index the next call will get."""
        with self.changed:
            return len(self.calls)

    def wait_for_answer(self, method: str, path: str, since: int, timeout_s: float = 30.0) -> None:
        """Block until a `method path` call received at or after index `since` was answered."""

        def answered() -> bool:
            return any(self.calls[i] == (method, path) for i in self.answered if i >= since)

        with self.changed:
            if not self.changed.wait_for(answered, timeout_s):
                raise TimeoutError(f"no answer to {method} {path} after call {since} within {timeout_s} s")


@dataclass
class LiveApi:
    """A running API: its URL, the store behind it and the log of answered calls."""

    url: str
    redis: redis.Redis
    store: Store
    log: RequestLog

    def new_client(self, name: str) -> dict[str, str]:
        """A new OAuth client (and account): client_id, client_secret, account_id."""
        return accounts.create_client(self.redis, name=name)

    def connect(self, credentials: dict[str, str]) -> ApiClient:
        """An API client logged in with `credentials`."""
        return ApiClient(self.url, credentials["client_id"], credentials["client_secret"])


def app_with_dashboard(settings: Settings, log: RequestLog) -> FastAPI:
    """The API app with the dashboard router (unless app.py already includes it) and a call log."""
    app = create_app(settings)
    if not any(getattr(route, "path", None) == dashboard.routes.PREFIX for route in app.routes):
        app.include_router(dashboard.router)

    @app.middleware("http")
    async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        index = log.begin(request.method, request.url.path)
        response = await call_next(request)  # returns once the endpoint has answered
        log.end(index)
        return response

    return app


@contextmanager
def running_api(redis_url: str) -> Iterator[LiveApi]:
    """Serve the API on 127.0.0.1 until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(_env_file=None, redis_url=redis_url, signing_key=SIGNING_KEY, public_url=url)
    log = RequestLog()
    config = uvicorn.Config(
        app_with_dashboard(settings, log), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    client = redis.Redis.from_url(redis_url)
    try:
        yield LiveApi(url=url, redis=client, store=Store(client), log=log)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        client.close()


def bounds(bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    """`processRequest.input.bounds` of a lon/lat bbox."""
    return {"bbox": list(bbox), "properties": {"crs": CRS84}}


def create_body(description: str, bbox: tuple[float, float, float, float] = MAP_BBOX) -> dict[str, Any]:
    """A v1 create body over `bbox` on grid 1 at 10 m."""
    return {
        "processRequest": {
            "input": {
                "bounds": bounds(bbox),
                "data": [
                    {
                        "type": "sentinel-2-l2a",
                        "dataFilter": {"timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}},
                    }
                ],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": EVALSCRIPT,
        },
        "tilingGrid": {"id": GRID_ID, "resolution": RESOLUTION},
        "bucketName": "results",
        "description": description,
    }


def analysed_tiles(request_id: str, bbox: tuple[float, float, float, float] = MAP_BBOX) -> list[dict[str, Any]]:
    """The tiles the analysis would store for a request over `bbox` (computed by the tiler)."""
    aoi = parse_bounds(bounds(bbox))
    return [
        {
            "id": tile.id,
            "name": tile.name,
            "requestId": request_id,
            "origin": tile.origin_geojson(),
            "geometry": tile.footprint_geojson(),
            "epsg": tile.epsg,
        }
        for tile in tiles_for_aoi(aoi, GRID_ID, RESOLUTION)
    ]
