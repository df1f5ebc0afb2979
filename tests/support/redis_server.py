"""A throw-away redis-server on a free port, started and stopped with the stack's own RedisService."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ops.credentials import Credentials
from ops.ports import StackPorts, free_port
from ops.redis_service import RedisService
from ops.service_base import StackContext


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server: its URL, port and data directory."""

    url: str
    port: int
    data_dir: Path


@contextmanager
def running_redis(home: Path) -> Iterator[RedisServer]:
    """Run a redis-server (AOF on) with its files under `home` until the block ends."""
    context = StackContext(home, StackPorts(redis=free_port()), Credentials.generate())
    service = RedisService(context)
    service.start()
    try:
        yield RedisServer(url=service.url, port=context.ports.redis, data_dir=service.data_dir)
    finally:
        service.stop()
