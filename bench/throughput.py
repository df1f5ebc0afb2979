"""Benchmark the orchestration: tiles per second for trivial tiles, and the overhead per tile.

A request of many small grid-0 tiles at 60 m (334 x 334 px) with a trivial SIMPLE script, most of them
outside the archive (no scenes: evaluate, COG, upload, STAC registration only), runs through ANALYSE ->
START -> rq tile jobs on N forking workers (small tiles share a job: workers.batching). The overhead per tile is
the worker time per tile minus the time inside the tile pipeline (`seconds` of each tile): forks, rq and Redis
bookkeeping, results items, cost and progress. The baseline, measured in the same process on the same workers, is a
batch of no-op rq jobs; the ratio tells how much a trivial tile costs over bare rq dispatch.

    .venv/bin/python bench/throughput.py [--quick] [--workers 2] [--span 2.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TRIVIAL = """//VERSION=3
function setup() { return {input: ["dataMask"], output: {bands: 1, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [s.dataMask]; }
"""
ARCHIVE_BBOX = (11.95, 46.00, 12.05, 46.06)
NOOP_JOB = "os.getpid"


def wait_until(predicate, timeout_s: float, poll_s: float = 0.05) -> float:
    """Seconds until `predicate()` holds (raises TimeoutError)."""
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError("benchmark did not finish in time")
        time.sleep(poll_s)
    return time.perf_counter() - started


def noop_jobs_seconds(client, count: int) -> float:
    """Wall time for the running workers to drain `count` no-op jobs from the tile queue."""
    from rq import Queue

    from evalbatch.queues import tile_queue

    queue = tile_queue(client)
    jobs = [Queue.prepare_data(NOOP_JOB, job_id=f"noop-{uuid.uuid4().hex}", result_ttl=60) for _ in range(count)]
    started = time.perf_counter()
    with client.pipeline() as pipe:
        queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    registry = queue.finished_job_registry
    wait_until(lambda: registry.count >= count, 600)
    return time.perf_counter() - started


def jobs_seconds(client, job_ids: set[str]) -> float:
    """Seconds the rq jobs `job_ids` ran (their work horses' start to end, as rq recorded them)."""
    from rq.job import Job
    from rq.serializers import JSONSerializer

    jobs = Job.fetch_many(list(job_ids), connection=client, serializer=JSONSerializer)
    return sum((job.ended_at - job.started_at).total_seconds() for job in jobs if job and job.ended_at)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--span", type=float, default=None,
                        help="side of the square AOI in degrees (default 2.0, about 140 tiles; --quick 0.5)")
    args = parser.parse_args()
    span = args.span or (0.5 if args.quick else 2.0)  # degrees of the square AOI west of 12°E

    import redis

    from evalbatch.queues import enqueue_analyse, tile_job_ids
    from evalbatch.spec import JobSpec, normalise_tile_path
    from evalbatch.states import FINAL_STATES
    from evalbatch.store import Store, utc_now
    from ops.archive import synth
    from ops.ports import StackPorts
    from ops.services import LocalStack

    load_at_start = os.getloadavg()
    home = Path(tempfile.mkdtemp(prefix="evalbatch-bench-throughput-"))
    home.chmod(0o755)
    stack = LocalStack(home, StackPorts.random_free())
    try:
        stack.start_core()
        synth(stack.settings, bbox=ARCHIVE_BBOX, start=dt.date(2024, 5, 1), days=6, progress=False)
        stack.start_workers(args.workers)
        client = redis.Redis.from_url(stack.settings.redis_url)
        store = Store(client)
        noop_count = 100 if args.quick else 300
        noop_s = noop_jobs_seconds(client, noop_count)

        bbox = [12.0 - span, 46.0, 12.0, 46.0 + span]
        spec = JobSpec(
            api_version=1, grid_id=0, resolution=60.0, evalscript=TRIVIAL, bounds={"bbox": bbox},
            data=[{"type": "sentinel-2-l2a", "dataFilter": {
                "timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-05-06T23:59:59Z"}}}],
            responses=[{"identifier": "default", "format": {"type": "image/tiff"}}],
            tile_path=normalise_tile_path("s3://results/bench-throughput"), overwrite=True,
        )
        request_id = str(uuid.uuid4())
        store.create_request({"id": request_id, "accountId": "bench", "apiVersion": 1, "created": utc_now(),
                              "status": "ANALYSING", "userAction": "START", "spec": spec.to_dict(),
                              "tileCount": 0, "costPU": 0})
        started = time.perf_counter()
        enqueue_analyse(client, request_id)
        wait_until(lambda: store.get_request(request_id)["status"] == "PROCESSING"
                   or store.get_request(request_id)["status"] in FINAL_STATES, 600)
        analysed = time.perf_counter() - started
        processing_started = time.perf_counter()
        wait_until(lambda: store.get_request(request_id)["status"] in FINAL_STATES, 1800, 0.2)
        processing = time.perf_counter() - processing_started
        record = store.get_request(request_id)
        tiles = record["tileCount"]
        infos = store.get_tiles(request_id, list(store.iter_tile_ids(request_id)))
        in_job = sum(t.get("seconds", 0.0) for t in infos) / max(1, len(infos))
        per_tile = processing * args.workers / tiles
        per_noop = noop_s * args.workers / noop_count
        job_ids = set(tile_job_ids(client, request_id, [int(t["id"]) for t in infos]).values())
        jobs = len(job_ids)
        in_jobs = jobs_seconds(client, job_ids) / tiles
        print(f"{tiles} tiles of 334x334 px in {jobs} rq jobs ({tiles / max(1, jobs):.1f} tiles per job), "
              f"{args.workers} workers, status {record['status']}")
        print("load average (1, 5, 15 min): at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f}".format(
            *load_at_start, *os.getloadavg()))
        print(f"analysis {analysed:.2f} s; processing {processing:.2f} s -> {tiles / processing:.2f} tiles/s")
        print(f"per tile: {per_tile * 1000:.0f} ms of worker time, of which {in_job * 1000:.0f} ms inside the "
              f"tile pipeline; overhead outside it {max(0.0, per_tile - in_job) * 1000:.0f} ms")
        print(f"  the overhead: {(in_jobs - in_job) * 1000:.1f} ms in the tile jobs (status, cost, results items), "
              f"{(per_tile - in_jobs) * 1000:.1f} ms around them (fork, rq, START, workers idle at the end)")
        print(f"baseline: no-op rq job {per_noop * 1000:.1f} ms of worker time "
              f"({noop_count / noop_s:.1f} jobs/s)")
        print(f"ratio trivial tile / no-op rq job: {per_tile / per_noop:.1f}x")
        client.close()
    finally:
        stack.stop_all()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
