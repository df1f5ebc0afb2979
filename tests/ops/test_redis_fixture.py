"""The per-test Redis fixture runs a real redis-server with append-only persistence."""

from __future__ import annotations

import redis

from ops.ports import port_is_free


def test_redis_client_talks_to_its_own_server_with_aof(redis_server, redis_client: redis.Redis) -> None:
    redis_client.set("greeting", "hello")
    assert redis_client.get("greeting") == b"hello"
    assert redis_client.config_get("appendonly") == {"appendonly": "yes"}
    assert redis_client.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert redis_client.config_get("bind")["bind"] == "127.0.0.1"
    assert not port_is_free(redis_server.port)
