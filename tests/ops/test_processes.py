"""Pid-file process management: liveness, pid-reuse safety, graceful stop and SIGKILL escalation."""

from __future__ import annotations

import sys
from pathlib import Path

from ops import processes

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
IGNORES_SIGTERM = [
    sys.executable,
    "-c",
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(60)",
]


def test_pidfile_round_trip_and_liveness(tmp_path: Path) -> None:
    record = processes.spawn(SLEEPER, tmp_path / "sleeper.log")
    try:
        pidfile = tmp_path / "run" / "sleeper.pid"
        processes.write_pidfile(pidfile, record)
        assert processes.read_pidfile(pidfile) == record
        assert processes.pidfile_alive(pidfile) == record
    finally:
        processes.terminate(record, timeout_s=5)
    assert not processes.is_alive(record)
    assert processes.pidfile_alive(pidfile) is None


def test_a_reused_pid_is_not_taken_for_the_recorded_process(tmp_path: Path) -> None:
    record = processes.spawn(SLEEPER, tmp_path / "sleeper.log")
    try:
        impostor = processes.ProcessRecord(pid=record.pid, start_ticks=(record.start_ticks or 0) + 1)
        assert not processes.is_alive(impostor)
        processes.terminate(impostor, timeout_s=1)  # must not signal a process it did not start
        assert processes.is_alive(record)
    finally:
        processes.terminate(record, timeout_s=5)


def test_missing_or_garbage_pidfiles_mean_not_running(tmp_path: Path) -> None:
    assert processes.read_pidfile(tmp_path / "absent.pid") is None
    garbage = tmp_path / "garbage.pid"
    garbage.write_text("not a pid\n")
    assert processes.read_pidfile(garbage) is None


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    record = processes.spawn(IGNORES_SIGTERM, log)
    assert processes.wait_until(lambda: processes.last_log_line(log) == "ready", 10)
    processes.terminate(record, timeout_s=0.5)
    assert not processes.is_alive(record)


def test_wait_until_gives_up_when_the_watched_process_dies(tmp_path: Path) -> None:
    record = processes.spawn([sys.executable, "-c", "pass"], tmp_path / "short.log")
    assert not processes.wait_until(lambda: False, 30, lambda: processes.is_alive(record))
    assert not processes.is_alive(record)


def test_last_log_line_skips_blank_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("first\nsecond\n\n  \n")
    assert processes.last_log_line(log) == "second"
    assert processes.last_log_line(tmp_path / "missing.log") == ""
