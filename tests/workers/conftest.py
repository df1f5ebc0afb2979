"""Fixtures of the workers tests: the synthetic archive in the local stack and running workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
# Run as `.venv/bin/pytest`, tests/ is on sys.path and its folders without __init__.py (tests/workers,
# tests/evaluator) could shadow the real packages as namespace packages: put the repository first.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
for _name in ("workers", "evaluator"):
    if _name in sys.modules and getattr(sys.modules[_name], "__file__", None) is None:
        sys.modules.pop(_name)

from workers_helpers import ARCHIVE_BBOX, ARCHIVE_DAYS, ARCHIVE_SEED, ARCHIVE_START  # noqa: E402

from evalbatch.store import Store  # noqa: E402
from ops.archive import synth  # noqa: E402
from ops.services import LocalStack  # noqa: E402

WORKERS = 2


@pytest.fixture(scope="session")
def archive(local_stack: LocalStack) -> LocalStack:
    """The local stack with the synthetic archive of the zone-crossing test area loaded."""
    # workers=1: no fork of this (multi-threaded: V8, GDAL, thread pools) test process
    synth(local_stack.settings, bbox=ARCHIVE_BBOX, start=ARCHIVE_START, days=ARCHIVE_DAYS, seed=ARCHIVE_SEED,
          progress=False, workers=1)
    return local_stack


@pytest.fixture(scope="session")
def processing_stack(archive: LocalStack) -> Iterator[LocalStack]:
    """The archive stack with rq workers running."""
    archive.start_workers(WORKERS)
    yield archive
    archive.workers.stop()


@pytest.fixture(scope="session")
def store(processing_stack: LocalStack) -> Iterator[Store]:
    """A store on the stack's Redis."""
    client = redis.Redis.from_url(processing_stack.settings.redis_url)
    yield Store(client)
    client.close()
