"""Shared fixtures: the real local services, started on free ports.

- `local_stack` (session): Redis, SeaweedFS (S3), PostgreSQL + pgstac and stac-fastapi-pgstac, started through
  ops.services.LocalStack in a temporary home. It is an `ops.services.LocalStack`: `stack.settings` (evalbatch
  Settings), `stack.env()` (EVALBATCH_* variables), `stack.describe()` (URLs, S3 keys, buckets, ports),
  `stack.s3.client()`, `stack.start_api()`, `stack.start_workers(n)`. Tests using it are marked `e2e`
  automatically. Set EVALBATCH_KEEP_TEST_STACK=1 to keep its data and logs.
- `stack_home` (function): an empty home directory for a LocalStack of the test's own, deleted afterwards.
- `redis_server` (function): a redis-server of its own on a free port; `redis_client`: a client to it.
- `sample_archive` (session): `local_stack` with the default sample archive loaded once; `processing_stack`
  (session): the same with the API and rq workers running; `store` (session): a Store on its Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from support.api_accounts import Account, register
from support.redis_server import RedisServer, running_redis
from support.stack import running_stack, sigterm_runs_teardown, temporary_stack_home

from api.app import create_app
from evalbatch.settings import Settings
from evalbatch.store import Store
from ops.services import LocalStack

STACK_WORKERS = 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the local stack as end-to-end."""
    for item in items:
        if "local_stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """The real infrastructure on free ports, shared by the session; stopped at the end."""
    with sigterm_runs_teardown(), running_stack() as stack:
        yield stack


@pytest.fixture
def stack_home() -> Iterator[Path]:
    """An empty home for a stack of this test only (reachable by the postgres user); deleted afterwards."""
    with temporary_stack_home() as home:
        yield home


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this test only (AOF on, free port)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of `redis_server`, on an empty database."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session")
def sample_archive(local_stack: LocalStack) -> LocalStack:
    """The session's stack with the default sample archive (what `make demo` loads), loaded once.

    Every end-to-end test reads this one archive, so catalog searches and the independent references computed
    from `ops.archive.generate_scenes` always see the same scenes.
    """
    from ops.archive import synth

    synth(local_stack.settings, progress=False)
    return local_stack


@pytest.fixture(scope="session")
def processing_stack(sample_archive: LocalStack) -> LocalStack:
    """The sample-archive stack with the API and rq workers running (stopped with the stack)."""
    sample_archive.start_api()
    sample_archive.start_workers(STACK_WORKERS)
    return sample_archive


@pytest.fixture(scope="session")
def store(processing_stack: LocalStack) -> Iterator[Store]:
    """A request store on the processing stack's Redis."""
    client = redis.Redis.from_url(processing_stack.settings.redis_url)
    yield Store(client)
    client.close()


# --- API tests (tests/api, tests/security): each folder provides its own `settings` and `redis_conn` -------


@pytest.fixture
def client(settings: Settings, redis_conn: redis.Redis) -> Iterator[TestClient]:
    """A TestClient of the app (lifespan run); server errors come back as 500 responses."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def alice(client: TestClient, redis_conn: redis.Redis) -> Account:
    """Account A."""
    return register(redis_conn, client, "alice")


@pytest.fixture
def bob(client: TestClient, redis_conn: redis.Redis) -> Account:
    """Account B."""
    return register(redis_conn, client, "bob")
