"""Fixtures of the fault-injection suite: a stack of its own (faults stop, kill and corrupt its services, so
they never share the session's `local_stack`), loaded with the synthetic archive, with rq workers running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from support.batch_requests import ARCHIVE_BBOX, ARCHIVE_DAYS, ARCHIVE_SEED, ARCHIVE_START
from support.stack import running_stack, sigterm_runs_teardown

from evalbatch.store import Store
from ops.archive import synth
from ops.services import LocalStack

FAULT_WORKERS = 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder injects faults into real services."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[LocalStack]:
    """A stack of the fault suite only, with the synthetic archive loaded and rq workers running."""
    with sigterm_runs_teardown(), running_stack() as stack:
        synth(stack.settings, bbox=ARCHIVE_BBOX, start=ARCHIVE_START, days=ARCHIVE_DAYS, seed=ARCHIVE_SEED,
              progress=False, workers=1)
        stack.start_workers(FAULT_WORKERS)
        yield stack


@pytest.fixture
def fault_store(fault_stack: LocalStack) -> Iterator[Store]:
    """A store on the fault stack's Redis (a fresh client per test: some tests restart Redis)."""
    client = redis.Redis.from_url(fault_stack.settings.redis_url)
    yield Store(client)
    client.close()
