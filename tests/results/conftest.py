"""Fixtures of the results tests: the session's local stack with the synthetic archive and rq workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS_TESTS = REPO_ROOT / "tests" / "workers"
# the workers tests' helpers (requests written into the store); the repository first so that tests/workers
# (no __init__.py) never shadows the real `workers` package.
for path in (str(WORKERS_TESTS), str(REPO_ROOT)):
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)
for _name in ("workers", "evaluator"):
    if _name in sys.modules and getattr(sys.modules[_name], "__file__", None) is None:
        sys.modules.pop(_name)

from workers_helpers import ARCHIVE_BBOX, ARCHIVE_DAYS, ARCHIVE_SEED, ARCHIVE_START  # noqa: E402

from evalbatch.store import Store  # noqa: E402
from ops.archive import synth  # noqa: E402
from ops.services import LocalStack  # noqa: E402

WORKERS = 2


@pytest.fixture(scope="session")
def results_stack(local_stack: LocalStack) -> Iterator[LocalStack]:
    """The local stack with the test archive loaded and rq workers running."""
    synth(local_stack.settings, bbox=ARCHIVE_BBOX, start=ARCHIVE_START, days=ARCHIVE_DAYS, seed=ARCHIVE_SEED,
          progress=False, workers=1)
    local_stack.start_workers(WORKERS)
    yield local_stack
    local_stack.workers.stop()


@pytest.fixture
def results_store(results_stack: LocalStack) -> Iterator[Store]:
    """A store on the stack's Redis."""
    client = redis.Redis.from_url(results_stack.settings.redis_url)
    yield Store(client)
    client.close()
