"""Port checks and the random port sets of test stacks."""

from __future__ import annotations

import socket

from ops.ports import GRPC_PORT_OFFSET, StackPorts, free_port, port_is_free


def test_a_listening_port_is_not_free() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free(port)
    assert port_is_free(port)


def test_random_ports_are_distinct_free_and_leave_room_for_grpc() -> None:
    ports = StackPorts.random_free()
    all_ports = [*ports.as_dict().values(), *(p + GRPC_PORT_OFFSET for p in ports.seaweed_ports()[::2])]
    assert len(set(all_ports)) == len(all_ports)
    assert all(port_is_free(port) for port in all_ports)
    assert set(ports.seaweed_ports()) >= {ports.s3, ports.s3 + GRPC_PORT_OFFSET}


def test_ports_round_trip_and_replace() -> None:
    ports = StackPorts(redis=free_port())
    assert StackPorts.from_dict(ports.as_dict()) == ports
    assert StackPorts.from_dict({"api": 9001, "unknown": 1}) == StackPorts(api=9001)
    assert ports.replace(api=9100, redis=None) == StackPorts(redis=ports.redis, api=9100)
