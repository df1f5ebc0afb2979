"""The TCP ports of one local stack, and checks for free ports on 127.0.0.1.

SeaweedFS (`weed mini`) listens on an HTTP port and a gRPC port per component. Its built-in maintenance worker
always dials the admin server at admin HTTP port + 10000, whatever `-admin.port.grpc` says, so every gRPC port
here follows SeaweedFS's own convention: HTTP port + GRPC_PORT_OFFSET.
"""

from __future__ import annotations

import dataclasses
import random
import socket
from dataclasses import dataclass

HOST = "127.0.0.1"
GRPC_PORT_OFFSET = 10000
# Ports picked for throw-away stacks (tests): below Linux's ephemeral range, with room for the gRPC offset.
RANDOM_PORT_RANGE = (20000, 30000)

SEAWEED_COMPONENTS = ("s3", "seaweed_master", "seaweed_volume", "seaweed_filer", "seaweed_admin")


@dataclass(frozen=True)
class StackPorts:
    """Ports of every service of a stack; the defaults are those of the demo stack."""

    redis: int = 6390
    s3: int = 8333
    postgres: int = 5439
    stac: int = 8082
    api: int = 8000
    seaweed_master: int = 9333
    seaweed_volume: int = 9340
    seaweed_filer: int = 8888
    seaweed_admin: int = 23646

    def grpc(self, component: str) -> int:
        """The gRPC port of a SeaweedFS component (one of SEAWEED_COMPONENTS)."""
        return getattr(self, component) + GRPC_PORT_OFFSET

    def seaweed_ports(self) -> list[int]:
        """Every port `weed mini` listens on."""
        return [port for c in SEAWEED_COMPONENTS for port in (getattr(self, c), self.grpc(c))]

    def as_dict(self) -> dict[str, int]:
        """The ports by service name."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, int]) -> StackPorts:
        """Ports from `as_dict()` output; unknown names are ignored, missing ones take the defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: int(v) for k, v in values.items() if k in names})

    def replace(self, **changes: int | None) -> StackPorts:
        """A copy with the given ports changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def random_free(cls, rng: random.Random | None = None) -> StackPorts:
        """Ports that are free right now (SeaweedFS ports together with their gRPC ports), for a test stack."""
        rng = rng or random.Random()
        taken: set[int] = set()

        def pick(with_grpc: bool) -> int:
            while True:
                port = rng.randrange(*RANDOM_PORT_RANGE)
                needed = [port, port + GRPC_PORT_OFFSET] if with_grpc else [port]
                if not taken.intersection(needed) and all(port_is_free(p) for p in needed):
                    taken.update(needed)
                    return port

        values = {f.name: pick(f.name in SEAWEED_COMPONENTS) for f in dataclasses.fields(cls)}
        return cls(**values)


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on host:port (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port the kernel reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
