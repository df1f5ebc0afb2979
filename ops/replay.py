"""Re-run one tile of a request locally, in this process, to debug it.

The request's stored job spec and tile record are read from Redis and the tile goes through the same
`workers.pipeline.run_tile` as on a worker, but nothing is delivered and no state changes: the COGs are
kept in a local directory when asked. The report gives timings, the scenes read and, when the tile fails,
the error with the evalscript line that raised it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from evalbatch.objectstore import S3Credentials
from evalbatch.settings import Settings
from evalbatch.spec import JobSpec
from evalbatch.store import Store
from evaluator import EvalscriptError
from ops.services import LocalStack, saved_ports
from workers.errors import describe
from workers.pipeline import run_tile

REDIS_URL_ENV = "EVALBATCH_REDIS_URL"


class ReplayError(LookupError):
    """The request or tile to replay does not exist."""


@dataclass
class ReplayReport:
    """What a local replay of one tile did."""

    request_id: str
    tile_id: int
    tile_name: str
    seconds: float
    scenes: list[str] = field(default_factory=list)
    assets_read: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # output id -> local COG (with --out)
    samples: int = 0
    bytes_read: int = 0
    peak_memory_bytes: int = 0
    error: str | None = None
    error_line: int | None = None  # 1-based line of the evalscript, when the error names one
    error_source: str | None = None  # the text of that line
    recorded: dict[str, Any] = field(default_factory=dict)  # the tile's run record on the server

    @property
    def ok(self) -> bool:
        """Whether the tile ran through."""
        return self.error is None


def replay_settings(home: Path | None) -> Settings:
    """The settings to replay with: $EVALBATCH_* when they name a Redis, else the local stack of `home`."""
    if os.environ.get(REDIS_URL_ENV):
        return Settings()
    stack_home = home or Path(os.environ.get("EVALBATCH_HOME") or ".evalbatch")
    if saved_ports(stack_home.absolute()) is None:
        return Settings()
    return LocalStack(stack_home).settings


def script_line(evalscript: str, line: int | None) -> str | None:
    """The text of 1-based `line` of the evalscript, stripped, or None."""
    lines = evalscript.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return None
    return lines[line - 1].strip()


def replay_tile(
    store: Store, settings: Settings, request_id: str, tile_id: int, out_dir: Path | None = None
) -> ReplayReport:
    """Run tile `tile_id` of `request_id` in this process without delivering anything.

    Raises ReplayError when the request or the tile does not exist; evalscript and data errors are reported.
    """
    record = store.get_request(request_id)
    if record is None:
        raise ReplayError(f"no request {request_id}")
    tile = store.get_tile(request_id, tile_id)
    if tile is None:
        raise ReplayError(f"request {request_id} has no tile {tile_id}")
    spec = JobSpec.from_dict(record["spec"])
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    report = ReplayReport(request_id, tile_id, str(tile.get("name")), 0.0, recorded=tile)
    started = time.monotonic()
    try:
        result = run_tile(spec, tile, request_id, settings, creds=S3Credentials.from_settings(settings),
                          deliver=False, keep_dir=out_dir)
    except Exception as error:  # reported, not raised: finding it is the point of a replay
        report.seconds = time.monotonic() - started
        report.error = describe(error)
        if isinstance(error, EvalscriptError):
            report.error_line = error.line
            report.error_source = script_line(spec.evalscript, error.line)
        return report
    report.seconds = result.seconds
    report.scenes = result.scenes
    report.assets_read = result.assets_read
    report.samples = result.samples
    report.bytes_read = result.bytes_read
    report.peak_memory_bytes = result.peak_memory_bytes
    if out_dir is not None:
        report.files = {path.stem: path for path in sorted(out_dir.glob("*.tif"))}
    return report


def replay_from_settings(settings: Settings, request_id: str, tile_id: int, out_dir: Path | None) -> ReplayReport:
    """`replay_tile` with a Store on the settings' Redis."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return replay_tile(Store(client), settings, request_id, tile_id, out_dir)
    finally:
        client.close()


def format_report(report: ReplayReport) -> list[str]:
    """The lines `evalbatch requests replay` prints."""
    recorded = report.recorded
    lines = [
        f"tile {report.tile_id} ({report.tile_name}) of request {report.request_id}",
        f"on the server: {recorded.get('status', '-')}, {recorded.get('seconds', '-')} s, "
        f"error: {recorded.get('error') or '-'}",
        f"replay: {'OK' if report.ok else 'FAILED'} in {report.seconds:.2f} s",
    ]
    if report.ok:
        lines.append(f"samples: {report.samples}, bytes read: {report.bytes_read}, "
                     f"peak memory: {report.peak_memory_bytes / 1024**2:.0f} MiB")
    lines.append(f"scenes ({len(report.scenes)}):")
    lines.extend(f"  {scene}" for scene in report.scenes)
    if report.assets_read:
        lines.append(f"assets read ({len(report.assets_read)}):")
        lines.extend(f"  {href}" for href in report.assets_read)
    for output_id, path in report.files.items():
        lines.append(f"output {output_id}: {path}")
    if report.error:
        lines.append(f"error: {report.error}")
    if report.error_line is not None:
        lines.append(f"evalscript line {report.error_line}: {report.error_source or ''}")
    return lines
