"""Background processes tracked by pid files: spawn, liveness, graceful stop.

A pid file holds two lines: the pid and the process start time (in clock ticks since boot, from
/proc/<pid>/stat). The start time guards against pid reuse: a pid file whose process has gone and whose pid now
belongs to another program is treated as stale, so `stop` never signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

POLL_INTERVAL_S = 0.1

# Popen handles of the children started by this Python process, so that they can be reaped (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcessRecord:
    """A process identified by pid and start time (None when the start time is unknown)."""

    pid: int
    start_ticks: int | None


def process_start_ticks(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot, or None when no such process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def _process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[0]


def record_of(pid: int) -> ProcessRecord:
    """The record of a running process."""
    return ProcessRecord(pid=pid, start_ticks=process_start_ticks(pid))


def write_pidfile(path: Path, record: ProcessRecord) -> None:
    """Write a pid file (pid, then start ticks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ticks = "" if record.start_ticks is None else str(record.start_ticks)
    path.write_text(f"{record.pid}\n{ticks}\n")


def read_pidfile(path: Path) -> ProcessRecord | None:
    """The record in a pid file, or None when the file is missing or unreadable."""
    try:
        lines = path.read_text().split()
    except OSError:
        return None
    if not lines or not lines[0].isdigit():
        return None
    ticks = int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else None
    return ProcessRecord(pid=int(lines[0]), start_ticks=ticks)


def is_alive(record: ProcessRecord) -> bool:
    """True when the process is running (not a zombie) and is the same process the record was made for."""
    child = _children.get(record.pid)
    if child is not None and child.poll() is not None:
        del _children[record.pid]
        return False
    state = _process_state(record.pid)
    if state is None or state in ("Z", "X"):
        return False
    return record.start_ticks is None or process_start_ticks(record.pid) == record.start_ticks


def pidfile_alive(path: Path) -> ProcessRecord | None:
    """The record of the live process named by a pid file, or None."""
    record = read_pidfile(path)
    return record if record is not None and is_alive(record) else None


def spawn(
    command: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Start `command` in its own session, stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    _children[child.pid] = child
    return record_of(child.pid)


def wait_until(predicate: Callable[[], bool], timeout_s: float, while_true: Callable[[], bool] | None = None) -> bool:
    """Poll `predicate` until it holds (True) or `timeout_s` passes or `while_true` stops holding (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline or (while_true is not None and not while_true()):
            return False
        time.sleep(POLL_INTERVAL_S)


def terminate(record: ProcessRecord, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 10.0) -> None:
    """Send `sig`, wait up to `timeout_s` for the process to exit, then SIGKILL it.

    The SIGKILL goes to the whole process group when the process leads one (our children run in their own
    session), so that helpers it forked (an rq work horse, PostgreSQL backends) do not outlive it.
    """
    if not is_alive(record):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, sig)
    if wait_until(lambda: not is_alive(record), timeout_s):
        return
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(record.pid) == record.pid:
            os.killpg(record.pid, signal.SIGKILL)
        else:
            os.kill(record.pid, signal.SIGKILL)
    wait_until(lambda: not is_alive(record), timeout_s)


def last_log_line(path: Path, max_chars: int = 300) -> str:
    """The last non-empty line of a log file (shortened), or '' when there is none."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            tail = handle.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:max_chars] if lines else ""
