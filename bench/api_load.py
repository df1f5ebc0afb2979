"""Load test of the API: N concurrent clients poll a running request and page through its tiles for T seconds.

A local Redis and the API under uvicorn (started like `evalbatch up` does, on free ports in a temporary home)
serve one v1 request created through the API, whose few thousand tiles (computed by the tiler) are put into
the store; while the clients run, a writer thread moves tiles through SCHEDULED -> PROCESSING -> PROCESSED as
workers would. Each client (its own aiohttp session and connection) loops: GET the request, then list its
tiles (the first page, or the next page after the token the previous listing returned), then waits
`--interval` seconds (0: a closed loop, which measures the saturated server). Every request is timed; any
non-2xx answer or transport error counts as an error, and so does a 2xx answer whose body is not what was asked
for (the request's id and a known status; a tile page of this request's tiles, in ascending ids after the
previous page). The baseline, measured against the same server before the load, is one client calling
GET /health in a loop; the ratios compare the loaded latencies with it.

The clients share the machine with the server, so they are cheap: aiohttp (much cheaper per request than
httpx) on uvloop (a quarter less again than on asyncio's own loop), answers parsed by msgspec into just the
fields that are checked (see `DECODERS`), and no parsed answer kept across their awaits (see `poll_tiles`).
The load average before and after the run is reported (latencies taken under other load are not comparable),
and so is the CPU time the API's processes and this benchmark spent per request, which other load on the
machine changes far less than latency.

    .venv/bin/python bench/api_load.py [--quick] [--clients 50] [--duration 60] [--interval 0] [--tiles 3000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import msgspec
import psutil
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GRID_ID, RESOLUTION = 3, 0.0002  # one-degree cells: a tile per square degree
TILE_PAGE = 100
BASELINE_CALLS = 300
WRITER_TILES_PER_S = 50
REQUEST_TIMEOUT_S = 10.0
REQUEST_STATUSES = {"CREATED", "ANALYSING", "ANALYSIS_DONE", "PROCESSING", "DONE", "PARTIAL", "FAILED", "CANCELED"}
TILE_STATUSES = {"PENDING", "SCHEDULED", "QUEUED", "PROCESSING", "PROCESSED", "FAILED"}
MAX_ERROR_EXAMPLES = 5
EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04", "dataMask"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
"""


@dataclass
class Samples:
    """Latencies (seconds) per endpoint kind, the errors seen and the first few error descriptions."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_examples: list[str] = field(default_factory=list)

    def error(self, kind: str, description: str) -> None:
        """Count an error of `kind` (keeping the first descriptions for the report)."""
        self.errors[kind] += 1
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(f"{kind}: {description}"[:300])

    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time used so far by a process (and, by default, its child processes)."""
    process = psutil.Process(pid)
    processes = [process, *(process.children(recursive=True) if children else [])]
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def cpu_split(api_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the API (all its processes) and by this benchmark's own process."""
    return cpu_seconds(api_pid), cpu_seconds(os.getpid(), children=False)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, in milliseconds."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1] * 1000


def bbox_for(tiles: int) -> list[float]:
    """A lon/lat box of about `tiles` one-degree cells (rows of 60 cells from the equator up)."""
    width = min(tiles, 60)
    rows = max(1, round(tiles / width))
    return [0.5, 0.5, 0.5 + width - 1, 0.5 + rows - 1]


def create_request(
    base_url: str, headers: dict[str, str], bounds: dict, grid_id: int = GRID_ID, resolution: float = RESOLUTION
) -> str:
    """Create a v1 request over `bounds` (processRequest.input.bounds) through the API; returns its id."""
    body = {
        "processRequest": {
            "input": {
                "bounds": bounds,
                "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {
                    "from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}}}],
            },
            "evalscript": EVALSCRIPT,
        },
        "tilingGrid": {"id": grid_id, "resolution": resolution},
        "output": {"defaultTilePath": "s3://results/bench/<requestId>/<tileName>/<outputId>.<format>"},
        "description": "api benchmark",
    }  # fmt: skip
    response = httpx.post(f"{base_url}/api/v1/batch/process", json=body, headers=headers, timeout=120)
    response.raise_for_status()
    return response.json()["id"]


def store_tiles(store, request_id: str, bbox: list[float]) -> list[int]:
    """Put the tiler's tiles of `bbox` into the store (all PENDING); returns their ids."""
    from tiler import parse_bounds, tiles_for_aoi

    tiles = tiles_for_aoi(parse_bounds({"bbox": bbox}), GRID_ID, RESOLUTION)
    records = [
        {"id": t.id, "name": t.name, "requestId": request_id, "origin": t.origin_geojson(),
         "geometry": t.footprint_geojson(), "cost": 0.0}
        for t in tiles
    ]  # fmt: skip
    store.put_tiles(request_id, records)
    return [t.id for t in tiles]


class TileWriter(threading.Thread):
    """Moves tiles through SCHEDULED -> PROCESSING -> PROCESSED like workers, WRITER_TILES_PER_S tiles a second,
    until stopped; `moves` counts the status changes made."""

    def __init__(self, store, request_id: str, tile_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.store, self.request_id, self.tile_ids = store, request_id, tile_ids
        self.stopped = threading.Event()
        self.moves = 0

    def run(self) -> None:
        from evalbatch.states import TileStatus

        steps = [TileStatus.SCHEDULED, TileStatus.PROCESSING, TileStatus.PROCESSED]
        pending = list(self.tile_ids)
        in_flight: list[tuple[int, int]] = []  # (tile id, index of its current step)
        while not self.stopped.is_set() and (pending or in_flight):
            if pending:
                in_flight.append((pending.pop(0), -1))
            advanced = []
            for tile_id, step in in_flight:
                self.store.set_tile_status(self.request_id, tile_id, steps[step + 1])
                self.moves += 1
                if step + 1 < len(steps) - 1:
                    advanced.append((tile_id, step + 1))
            in_flight = advanced
            self.store.record_progress(self.request_id)
            self.stopped.wait(1 / WRITER_TILES_PER_S)


class RequestAnswer(msgspec.Struct):
    """The fields of a GET request answer that are checked (the others are skipped while parsing, not built)."""

    id: str
    status: str


class TileAnswer(msgspec.Struct):
    """The fields of a v1 tile that are checked."""

    id: int
    requestId: str
    status: str


class PageLinks(msgspec.Struct):
    nextToken: str | None = None


class TilePageAnswer(msgspec.Struct):
    """A tiles page as far as it is checked: its tiles and the token of the next page."""

    data: list[TileAnswer]
    links: PageLinks


# Parsing only the checked fields costs a fifth of parsing whole tile pages (their GeoJSON) into Python objects.
DECODERS = {
    "get request": msgspec.json.Decoder(RequestAnswer),
    "list tiles": msgspec.json.Decoder(TilePageAnswer),
    "health": msgspec.json.Decoder(),
}


def parse_answer(kind: str, content: bytes) -> tuple[Any, str | None]:
    """(the parsed 2xx answer of an endpoint kind, None), or (None, what is wrong) when it is not JSON of the
    expected shape (a field missing or of the wrong type)."""
    try:
        return DECODERS[kind].decode(content), None
    except msgspec.DecodeError as exc:  # also a msgspec.ValidationError
        return None, f"unexpected answer: {exc}"


async def timed_get(session: aiohttp.ClientSession, kind: str, url: str, params: dict, samples: Samples) -> Any:
    """GET `url`, recording its latency under `kind`; the parsed answer, or None after an error."""
    started = time.perf_counter()
    try:
        async with session.get(url, params=params) as response:
            content = await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        samples.error(kind, f"{type(exc).__name__}: {exc}")
        return None
    samples.latencies[kind].append(time.perf_counter() - started)
    if not response.ok:
        samples.error(kind, f"HTTP {response.status}: {content.decode(errors='replace')}")
        return None
    answer, problem = parse_answer(kind, content)
    if problem:
        samples.error(kind, problem)
    return answer


def client_session(base_url: str, headers: dict[str, str] | None = None) -> aiohttp.ClientSession:
    """The HTTP session of one benchmark client."""
    return aiohttp.ClientSession(base_url=base_url, headers=headers, timeout=aiohttp.ClientTimeout(REQUEST_TIMEOUT_S))


def request_problem(body: RequestAnswer, request_id: str) -> str | None:
    """What is wrong with a GET request answer (None when it is the request asked for)."""
    if body.id != request_id:
        return f"not request {request_id}"
    if body.status not in REQUEST_STATUSES:
        return f"unknown status {body.status!r}"
    return None


def tile_page_problem(page: TilePageAnswer, request_id: str, after: int | None) -> str | None:
    """What is wrong with a tiles page (None when it holds this request's tiles in ascending ids after `after`)."""
    if not 0 < len(page.data) <= TILE_PAGE:
        return "no page of tiles"
    ids = [tile.id for tile in page.data]
    if any(tile.requestId != request_id or tile.status not in TILE_STATUSES for tile in page.data):
        return "a tile of another request or with an unknown status"
    if ids != sorted(set(ids)) or (after is not None and ids[0] <= after):
        return f"tile ids out of order after {after}"
    return None


async def poll_request(client: aiohttp.ClientSession, url: str, request_id: str, samples: Samples) -> None:
    """GET the request and check the answer (a wrong one counts as an error)."""
    body = await timed_get(client, "get request", url, {}, samples)
    if body is not None and (problem := request_problem(body, request_id)):
        samples.error("get request", problem)


async def poll_tiles(
    client: aiohttp.ClientSession, url: str, request_id: str, token: str | None, after: int | None, samples: Samples
) -> tuple[str | None, int | None]:
    """GET the tiles page of `token` (the first page for None), whose ids must follow tile id `after`, and
    check it; returns the token and the last tile id of the next page (None, None: start again at the first).

    Only these two values outlive the call: parsed pages held by 50 clients across their awaits would survive
    the garbage collector's young generations, and its full collections, walking them, made this process
    (not the API) the slowest part of the measurement."""
    params = {"count": TILE_PAGE, **({"viewtoken": token} if token else {})}
    page = await timed_get(client, "list tiles", url, params, samples)
    problem = tile_page_problem(page, request_id, after) if page is not None else None
    if problem:
        samples.error("list tiles", problem)
    if page is None or problem is not None:
        return None, None
    next_token = page.links.nextToken
    return next_token, page.data[-1].id if next_token else None


async def poller(
    base_url: str,
    headers: dict[str, str],
    request_id: str,
    deadline: float,
    interval_s: float,
    offset_s: float,
    samples: Samples,
) -> None:
    """One client: GET the request, then the next page of its tiles, then pause, until the deadline.

    Its connection is opened by an untimed call first; it starts `offset_s` late, so that pausing clients
    do not poll in lockstep. Answers with the wrong content count as errors of their kind."""
    request_url = f"/api/v1/batch/process/{request_id}"
    token: str | None = None
    after: int | None = None  # the last tile id of the previous page
    async with client_session(base_url, headers) as client:
        await (await client.get("/health")).read()
        await asyncio.sleep(offset_s)
        while time.perf_counter() < deadline:
            await poll_request(client, request_url, request_id, samples)
            token, after = await poll_tiles(client, f"{request_url}/tiles", request_id, token, after, samples)
            if interval_s > 0:
                await asyncio.sleep(interval_s)


async def run_load(
    base_url: str, headers: dict[str, str], request_id: str, clients: int, duration_s: float, interval_s: float
) -> Samples:
    """`clients` concurrent pollers for `duration_s` seconds."""
    samples = Samples()
    deadline = time.perf_counter() + duration_s
    await asyncio.gather(
        *(
            poller(base_url, headers, request_id, deadline, interval_s, interval_s * i / clients, samples)
            for i in range(clients)
        )
    )
    return samples


async def run_baseline(base_url: str, calls: int) -> Samples:
    """One client calling GET /health `calls` times on an otherwise idle server."""
    samples = Samples()
    async with client_session(base_url) as client:
        for _ in range(calls):
            await timed_get(client, "health", "/health", {}, samples)
    return samples


def summary(load: Samples, baseline: Samples, args: argparse.Namespace, tiles: int, load_averages: list[float]) -> dict:
    """The numbers the benchmark reports (`load_averages`: the 1-minute load average before and after)."""
    everything = load.all_latencies()
    base_p50 = percentile(baseline.all_latencies(), 50)
    duration_s = args.duration
    result = {
        "load_average": load_averages,
        "clients": args.clients,
        "interval_s": args.interval,
        "duration_s": duration_s,
        "tiles": tiles,
        "requests": len(everything) + sum(load.errors.values()),
        "errors": sum(load.errors.values()),
        "error_examples": load.error_examples,
        "requests_per_s": round(len(everything) / duration_s, 1),
        "p50_ms": round(percentile(everything, 50), 2),
        "p99_ms": round(percentile(everything, 99), 2),
        "max_ms": round(max(everything) * 1000, 2) if everything else None,
        "baseline_health_p50_ms": round(base_p50, 2),
        "p50_over_baseline": round(percentile(everything, 50) / base_p50, 1),
        "p99_over_baseline": round(percentile(everything, 99) / base_p50, 1),
        "by_endpoint": {
            kind: {
                "requests": len(values),
                "errors": load.errors.get(kind, 0),
                "p50_ms": round(percentile(values, 50), 2),
                "p99_ms": round(percentile(values, 99), 2),
            }
            for kind, values in load.latencies.items()
        },
    }
    return result


def print_table(result: dict) -> None:
    print(f"API load: {result['clients']} clients (pause {result['interval_s']} s) for {result['duration_s']:.0f} s "
          f"on a request of {result['tiles']} tiles")  # fmt: skip
    print(f"  requests {result['requests']}  errors {result['errors']}  {result['requests_per_s']} req/s  "
          f"(tile status changes meanwhile: {result['tile_status_changes']})")  # fmt: skip
    print(f"  latency p50 {result['p50_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  max {result['max_ms']:.1f} ms")
    for kind, numbers in result["by_endpoint"].items():
        print(f"    {kind:<12} {numbers['requests']:>7} req  {numbers['errors']} errors  "
              f"p50 {numbers['p50_ms']:.1f} ms  p99 {numbers['p99_ms']:.1f} ms")  # fmt: skip
    print(f"  baseline (idle GET /health, 1 client) p50 {result['baseline_health_p50_ms']:.2f} ms; "
          f"loaded p50 x{result['p50_over_baseline']}, p99 x{result['p99_over_baseline']}")  # fmt: skip
    print(f"  CPU per request: API {result['api_cpu_ms_per_request']:.2f} ms (all its processes), "
          f"this benchmark {result['bench_cpu_ms_per_request']:.2f} ms (clients and tile writer)")  # fmt: skip
    before, after = result["load_average"]
    print(f"  load average (1 min) before {before:.2f}, after {after:.2f}")
    for example in result["error_examples"]:
        print(f"  error: {example}")


@dataclass
class RunningApi:
    """Redis and the API started as `evalbatch up` starts them, and an authorised account."""

    url: str
    redis: Any
    headers: dict[str, str]
    pid: int  # of the API server (uvicorn's supervisor when it runs several processes)


@contextmanager
def running_api(name: str) -> Iterator[RunningApi]:
    """Start Redis and the API on free ports in a temporary home, create a client, yield, stop both."""
    import redis

    from evalbatch import accounts
    from ops.credentials import Credentials
    from ops.ports import StackPorts, free_port
    from ops.redis_service import RedisService
    from ops.service_base import StackContext
    from ops.web_services import ApiService

    with tempfile.TemporaryDirectory(prefix=f"evalbatch-{name}-") as home:
        context = StackContext(Path(home), StackPorts(redis=free_port(), api=free_port()), Credentials.generate())
        services = [RedisService(context), ApiService(context)]
        try:
            for service in services:
                service.start()
            client = redis.Redis.from_url(context.redis_url)
            created = accounts.create_client(client, name=name)
            token = httpx.post(f"{context.api_url}/oauth/token", data={
                "grant_type": "client_credentials", "client_id": created["client_id"],
                "client_secret": created["client_secret"]}).json()["access_token"]  # fmt: skip
            record = services[-1].running()
            assert record is not None, "the API stopped after its start"
            yield RunningApi(context.api_url, client, {"Authorization": f"Bearer {token}"}, record.pid)
        finally:
            for service in reversed(services):
                service.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 clients, 5 s, 1000 tiles (make bench)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--interval", type=float, default=0.0, help="pause of each client between rounds (s)")
    parser.add_argument("--tiles", type=int, default=3000)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line last")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.duration, args.tiles = 10, 5.0, 1000

    from evalbatch.store import Store

    with running_api("api-load") as api:
        bbox = bbox_for(args.tiles)
        request_id = create_request(api.url, api.headers, {"bbox": bbox})
        store = Store(api.redis)
        tile_ids = store_tiles(store, request_id, bbox)
        load_before = os.getloadavg()[0]
        baseline = uvloop.run(run_baseline(api.url, BASELINE_CALLS))
        gc.collect()
        gc.freeze()  # what the setup built (modules, tiles) is kept out of the collections during the load
        writer = TileWriter(store, request_id, tile_ids)
        writer.start()
        api_cpu_before, bench_cpu_before = cpu_split(api.pid)
        try:
            load = uvloop.run(run_load(api.url, api.headers, request_id, args.clients, args.duration, args.interval))
        finally:
            writer.stopped.set()
            writer.join(timeout=10)
        api_cpu_after, bench_cpu_after = cpu_split(api.pid)
        load_after = os.getloadavg()[0]
    result = summary(load, baseline, args, len(tile_ids), [load_before, load_after])
    result["tile_status_changes"] = writer.moves
    answered = max(1, result["requests"])
    result["api_cpu_ms_per_request"] = round((api_cpu_after - api_cpu_before) * 1000 / answered, 3)
    result["bench_cpu_ms_per_request"] = round((bench_cpu_after - bench_cpu_before) * 1000 / answered, 3)
    print_table(result)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
