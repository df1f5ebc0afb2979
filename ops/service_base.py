"""What every local service shares: the stack context, the one-line ServiceError and the start/stop protocol."""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from evalbatch.settings import Settings
from ops import processes
from ops.credentials import Credentials
from ops.ports import HOST, StackPorts, port_is_free

PGSTAC_DATABASE = "pgstac"
POSTGRES_SUPERUSER = "evalbatch"
HEALTH_TIMEOUT_S = 2.0
RUNNING_BUT_UNHEALTHY_GRACE_S = 10.0


class ServiceError(RuntimeError):
    """A service could not be started; the message is one line naming the service, the problem and the fix."""

    def __init__(self, service: str, problem: str, fix: str) -> None:
        self.service = service
        super().__init__(" ".join(f"{service}: {problem}; {fix}".split()))


class PortInUseError(ServiceError):
    """A port the service needs is taken by another program."""


@dataclass(frozen=True)
class StackContext:
    """Where a stack lives (home directory), its ports and its credentials, and the URLs derived from them."""

    home: Path
    ports: StackPorts
    credentials: Credentials

    @property
    def run_dir(self) -> Path:
        """Directory of the pid files."""
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        """Directory of the service logs."""
        return self.home / "logs"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.ports.redis}/0"

    @property
    def s3_endpoint_url(self) -> str:
        return f"http://{HOST}:{self.ports.s3}"

    @property
    def stac_url(self) -> str:
        return f"http://{HOST}:{self.ports.stac}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.ports.api}"

    @property
    def postgres_dsn(self) -> str:
        """DSN of the pgstac database, as the cluster's superuser (pgstac migrations create extensions)."""
        password = self.credentials.postgres_password
        return f"postgresql://{POSTGRES_SUPERUSER}:{password}@{HOST}:{self.ports.postgres}/{PGSTAC_DATABASE}"


def process_environment() -> dict[str, str]:
    """The environment of the processes started by a stack: ours, with no proxy for localhost."""
    env = dict(os.environ)
    env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, [env.get("NO_PROXY"), HOST, "localhost"]))
    return env


def setting_default(field: str) -> Any:
    """The default value of an evalbatch Settings field (bucket names, region...)."""
    return Settings.model_fields[field].default


class ManagedService(ABC):
    """A service run as one background process with a pid file and a log under the stack's home."""

    name: ClassVar[str]
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    start_timeout_s: ClassVar[float] = 30.0
    port_hint: ClassVar[str] = "choose other ports (see `evalbatch up --help`)"

    def __init__(self, context: StackContext) -> None:
        self.context = context

    @cached_property
    def pidfile(self) -> Path:
        return self.context.run_dir / f"{self.name}.pid"

    @cached_property
    def logfile(self) -> Path:
        return self.context.log_dir / f"{self.name}.log"

    @abstractmethod
    def ports(self) -> list[int]:
        """The ports this service listens on."""

    @abstractmethod
    def healthy(self) -> bool:
        """True when the service answers its health check (bounded by HEALTH_TIMEOUT_S per request)."""

    @abstractmethod
    def launch(self) -> processes.ProcessRecord:
        """Start the process (prepare() has run) and return its record."""

    def check_installed(self) -> None:  # noqa: B027 (optional hook)
        """Raise ServiceError when a binary or module the service needs is missing."""

    def prepare(self) -> None:  # noqa: B027 (optional hook)
        """Write configuration and data directories before launch."""

    def after_start(self) -> None:  # noqa: B027 (optional hook)
        """One-off set-up once the service answers (buckets, migrations)."""

    def info(self) -> dict[str, Any]:
        """What clients need to know about the service (URL, port...)."""
        return {"port": self.ports()[0]}

    def running(self) -> processes.ProcessRecord | None:
        """The live process of this service, or None."""
        return processes.pidfile_alive(self.pidfile)

    def base_environment(self) -> dict[str, str]:
        """The environment of the service's process."""
        return process_environment()

    def start(self) -> bool:
        """Start the service unless it already runs and is healthy; True when a process was started."""
        record = self.running()
        if record is not None:
            if processes.wait_until(self.healthy, RUNNING_BUT_UNHEALTHY_GRACE_S, lambda: self.running() is not None):
                return False
            raise ServiceError(
                self.name,
                f"process {record.pid} is running but does not answer its health check",
                f"see {self.logfile}; run `evalbatch down` and start again",
            )
        self.pidfile.unlink(missing_ok=True)
        for port in self.ports():
            if not port_is_free(port):
                raise PortInUseError(
                    self.name,
                    f"port {port} on {HOST} is already in use by another program",
                    f"stop that program or {self.port_hint}",
                )
        self.check_installed()
        self.prepare()
        record = self.launch()
        processes.write_pidfile(self.pidfile, record)
        started = processes.wait_until(self.healthy, self.start_timeout_s, lambda: processes.is_alive(record))
        if not started:
            alive = processes.is_alive(record)
            processes.terminate(record, self.stop_signal)
            self.pidfile.unlink(missing_ok=True)
            reason = f"did not answer within {self.start_timeout_s:.0f} s" if alive else "exited during start-up"
            last = processes.last_log_line(self.logfile)
            raise ServiceError(self.name, f"{reason} (last log line: {last!r})", f"see {self.logfile}")
        try:
            self.after_start()
        except ServiceError:
            raise
        except Exception as error:
            raise ServiceError(
                self.name, f"set-up after start failed ({type(error).__name__}: {error})", f"see {self.logfile}"
            ) from error
        return True

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stop the process named by the pid file (signal, then SIGKILL after `timeout_s`); True if one ran."""
        record = self.running()
        if record is not None:
            processes.terminate(record, self.stop_signal, timeout_s)
        self.pidfile.unlink(missing_ok=True)
        return record is not None
