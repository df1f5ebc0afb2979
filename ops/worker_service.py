"""The rq workers of a stack: N processes of `python -m workers.launch`, one pid file and log each."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

from ops import processes
from ops.service_base import ServiceError, StackContext, process_environment
from ops.stack_env import describe, env_for
from ops.web_services import module_missing

LAUNCH_MODULE = "workers.launch"
# A worker that survives this long after spawning has got past its imports and its Redis connection.
STARTUP_CHECK_S = 2.0
_PIDFILE_PATTERN = re.compile(r"worker-(\d+)\.pid")


class WorkerPool:
    """Starts, counts and stops the worker processes of a stack."""

    name = "workers"
    stop_timeout_s = 15.0  # rq finishes the current job on SIGTERM (warm shutdown); SIGKILL after this

    def __init__(self, context: StackContext) -> None:
        self.context = context

    def pidfile(self, index: int) -> Path:
        return self.context.run_dir / f"worker-{index}.pid"

    def logfile(self, index: int) -> Path:
        return self.context.log_dir / f"worker-{index}.log"

    def running(self) -> dict[int, processes.ProcessRecord]:
        """Live workers by index (1-based)."""
        live = {}
        for path in self.context.run_dir.glob("worker-*.pid"):
            match = _PIDFILE_PATTERN.fullmatch(path.name)
            record = processes.pidfile_alive(path)
            if match and record is not None:
                live[int(match.group(1))] = record
        return dict(sorted(live.items()))

    def start(self, count: int) -> int:
        """Make exactly `count` workers run (start missing ones, stop extra ones); returns how many started."""
        for index in self.running():
            if index > count:
                self._stop_one(index)
        if count == 0:
            return 0
        if module_missing(LAUNCH_MODULE):
            raise ServiceError(
                self.name,
                f"module {LAUNCH_MODULE} is not installed",
                "the workers package (workers/launch.py) is not written or installed yet",
            )
        env = self.base_environment()
        live = self.running()
        started = {}
        for index in range(1, count + 1):
            if index not in live:
                record = processes.spawn([sys.executable, "-m", LAUNCH_MODULE], self.logfile(index), env)
                processes.write_pidfile(self.pidfile(index), record)
                started[index] = record
        if started:
            time.sleep(STARTUP_CHECK_S)
        for index, record in started.items():
            if not processes.is_alive(record):
                self.pidfile(index).unlink(missing_ok=True)
                last = processes.last_log_line(self.logfile(index))
                raise ServiceError(
                    self.name,
                    f"worker {index} exited during start-up (last log line: {last!r})",
                    f"see {self.logfile(index)}",
                )
        return len(started)

    def base_environment(self) -> dict[str, str]:
        """Our environment plus the stack's EVALBATCH_* variables."""
        env = process_environment()
        env.update(env_for(describe(self.context)))
        return env

    def _stop_one(self, index: int, timeout_s: float | None = None) -> bool:
        record = processes.pidfile_alive(self.pidfile(index))
        if record is not None:
            processes.terminate(record, timeout_s=self.stop_timeout_s if timeout_s is None else timeout_s)
        self.pidfile(index).unlink(missing_ok=True)
        return record is not None

    def stop(self, timeout_s: float | None = None) -> int:
        """Stop every worker of the stack; returns how many were running."""
        indices = {int(m.group(1)) for p in self.context.run_dir.glob("worker-*.pid")
                   if (m := _PIDFILE_PATTERN.fullmatch(p.name))}  # fmt: skip
        return sum(self._stop_one(index, timeout_s) for index in sorted(indices))

    def healthy(self) -> bool:
        """True when at least one worker runs."""
        return bool(self.running())

    def info(self) -> dict[str, Any]:
        live = self.running()
        return {"count": len(live), "pids": [record.pid for record in live.values()]}
