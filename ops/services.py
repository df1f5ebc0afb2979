"""The local stack: Redis, SeaweedFS (S3), PostgreSQL + pgstac, stac-fastapi-pgstac, the API and rq workers.

Everything lives under one home directory (`$EVALBATCH_HOME`, default `./.evalbatch/`):
credentials.json (generated keys), services.json (ports, URLs, EVALBATCH_* environment), run/*.pid,
logs/*.log and one data directory per service. Starting is idempotent (a healthy service is left alone);
stopping signals only the processes named by the pid files. Data survives `down` + `up`.

    stack = LocalStack()                 # home and ports from $EVALBATCH_HOME / services.json / defaults
    stack.start_all(workers=2)           # {"redis": "started", ..., "api": "failed: api: ...; ..."}
    env = env_for(stack.status())        # EVALBATCH_* variables for another process
    stack.stop_all()
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evalbatch.settings import Settings
from ops.credentials import load_or_create_credentials
from ops.ports import StackPorts
from ops.postgres_service import PostgresService
from ops.redis_service import RedisService
from ops.seaweed_service import SeaweedService
from ops.service_base import ManagedService, PortInUseError, ServiceError, StackContext, setting_default
from ops.stack_env import describe, env_for, settings_for
from ops.web_services import ApiService, StacService
from ops.worker_service import WorkerPool

__all__ = ["LocalStack", "PortInUseError", "ServiceError", "StackPorts", "default_home", "env_for"]

HOME_ENV = "EVALBATCH_HOME"
DEFAULT_HOME = Path(setting_default("home"))
SERVICES_FILE = "services.json"
STARTED, ALREADY_RUNNING, FAILED, NOT_REQUESTED = "started", "already running", "failed", "not requested"


def default_home() -> Path:
    """`$EVALBATCH_HOME`, else `./.evalbatch`."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def saved_ports(home: Path) -> StackPorts | None:
    """The ports recorded by the last start of the stack in `home`, if any."""
    try:
        return StackPorts.from_dict(json.loads((home / SERVICES_FILE).read_text())["ports"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class LocalStack:
    """The services of one home directory."""

    def __init__(self, home: Path | str | None = None, ports: StackPorts | None = None) -> None:
        self.home = Path(home or default_home()).absolute()
        ports = ports or saved_ports(self.home) or StackPorts()
        self.context = StackContext(self.home, ports, load_or_create_credentials(self.home))
        self.redis = RedisService(self.context)
        self.s3 = SeaweedService(self.context)
        self.postgres = PostgresService(self.context)
        self.stac = StacService(self.context)
        self.api = ApiService(self.context)
        self.workers = WorkerPool(self.context)

    @classmethod
    def with_ports(cls, home: Path | str | None = None, **overrides: int | None) -> LocalStack:
        """The stack of `home` with some ports changed (StackPorts field names); None values are ignored.

        Raises ServiceError when a port changes while a service of the stack is running.
        """
        stack = cls(home)
        ports = stack.ports.replace(**overrides)
        if ports == stack.ports:
            return stack
        running = [service.name for service in stack.managed_services if service.running()]
        if running or stack.workers.running():
            raise ServiceError(
                ", ".join(running or [stack.workers.name]),
                "running with the old ports, which cannot change while the stack runs",
                "run `evalbatch down` first",
            )
        return cls(home, ports)

    @property
    def ports(self) -> StackPorts:
        return self.context.ports

    @property
    def core_services(self) -> list[ManagedService]:
        """The infrastructure, in start order (each depends only on those before it)."""
        return [self.redis, self.s3, self.postgres, self.stac]

    @property
    def managed_services(self) -> list[ManagedService]:
        """Every single-process service, in start order."""
        return [*self.core_services, self.api]

    def start_core(self) -> dict[str, str]:
        """Start Redis, S3, PostgreSQL and the STAC API; raises ServiceError on the first failure."""
        self.save()
        return {service.name: STARTED if service.start() else ALREADY_RUNNING for service in self.core_services}

    def start_api(self) -> str:
        """Start the evalbatch API ("started" / "already running"); raises ServiceError."""
        self.save()
        return STARTED if self.api.start() else ALREADY_RUNNING

    def start_workers(self, count: int) -> str:
        """Make `count` workers run ("started N" / "already running"); raises ServiceError."""
        self.save()
        started = self.workers.start(count)
        if count == 0:
            return NOT_REQUESTED
        return f"{STARTED} {started}" if started else ALREADY_RUNNING

    def start_all(self, workers: int | None = None, api: bool = True) -> dict[str, str]:
        """Start everything: service name -> "started" | "already running" | "failed: <one-line reason>".

        `workers` defaults to default_worker_count(), so a second `start_all()` changes nothing.

        Infrastructure failures raise ServiceError (nothing can work without it); the API and the workers are
        reported as failed instead, so a stack whose application code is incomplete still comes up.
        """
        report = self.start_core()
        count = self.default_worker_count() if workers is None else workers
        optional = [("api", self.start_api)] if api else []
        optional.append((self.workers.name, lambda: self.start_workers(count)))
        for name, start in optional:
            try:
                report[name] = start()
            except ServiceError as error:
                report[name] = f"{FAILED}: {error}"
        return report

    def default_worker_count(self) -> int:
        """As many workers as run now, else EVALBATCH_WORKER_COUNT (Settings.worker_count)."""
        return len(self.workers.running()) or Settings().worker_count

    def stop_all(self, timeout_s: float = 15.0) -> list[str]:
        """Stop every service of this home (reverse start order); returns the names of those that ran."""
        stopped = [self.workers.name] if self.workers.stop(timeout_s) else []
        for service in reversed(self.managed_services):
            if service.stop(timeout_s):
                stopped.append(service.name)
        return stopped

    def describe(self) -> dict[str, Any]:
        """URLs, keys, buckets and ports (no health checks)."""
        return describe(self.context)

    def status(self) -> dict[str, Any]:
        """describe() plus, per service, pid, healthy flag, port/URL and log path."""
        status = self.describe()
        services: dict[str, Any] = {}
        for service in self.managed_services:
            record = service.running()
            services[service.name] = {
                "healthy": record is not None and service.healthy(),
                "pid": record.pid if record else None,
                **service.info(),
                "log": str(service.logfile),
            }
        services[self.workers.name] = {"healthy": self.workers.healthy(), **self.workers.info()}
        status["services"] = services
        return status

    def env(self) -> dict[str, str]:
        """The EVALBATCH_* variables of this stack."""
        return env_for(self.describe())

    @property
    def settings(self) -> Settings:
        """evalbatch Settings pointing at this stack."""
        return settings_for(self.describe())

    def save(self) -> None:
        """Write `<home>/services.json` (mode 0600: it holds keys): ports, URLs and the environment."""
        self.home.mkdir(parents=True, exist_ok=True)
        content = {**self.describe(), "env": self.env()}
        path = self.home / SERVICES_FILE
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(content, handle, indent=2)
