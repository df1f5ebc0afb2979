"""A complete local stack (Redis, SeaweedFS, PostgreSQL + pgstac, stac-fastapi) for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from ops.ports import StackPorts
from ops.services import LocalStack, PortInUseError

KEEP_ENV = "EVALBATCH_KEEP_TEST_STACK"  # set to 1 to keep the home (data and logs) of test stacks
PORT_ATTEMPTS = 3  # random ports may be taken between the check and the start by a concurrent test session


def make_stack_home(prefix: str = "evalbatch-test-stack-") -> Path:
    """A fresh home directory the `postgres` user can reach too (pytest's tmp dirs are private to us)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    home.chmod(0o755)
    return home


@contextmanager
def temporary_stack_home() -> Iterator[Path]:
    """A fresh stack home, deleted afterwards unless EVALBATCH_KEEP_TEST_STACK is set."""
    home = make_stack_home()
    try:
        yield home
    finally:
        if not os.environ.get(KEEP_ENV):
            shutil.rmtree(home, ignore_errors=True)


@contextmanager
def running_stack() -> Iterator[LocalStack]:
    """Start the infrastructure of a stack on random free ports in a temporary home; stop it afterwards.

    The API and the workers are not started: call `stack.start_api()` / `stack.start_workers(n)`.
    """
    with temporary_stack_home() as home:
        stack = _start_on_free_ports(home)
        try:
            yield stack
        finally:
            stack.stop_all()


def _start_on_free_ports(home: Path) -> LocalStack:
    """Start the infrastructure on random free ports, trying other ports if another program grabs one first."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        stack = LocalStack(home, StackPorts.random_free())
        try:
            stack.start_core()
        except PortInUseError:
            stack.stop_all()
            if attempt == PORT_ATTEMPTS:
                raise
        except BaseException:
            stack.stop_all()
            raise
        else:
            return stack
    raise AssertionError("unreachable")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def sigterm_runs_teardown() -> Iterator[None]:
    """Turn SIGTERM (e.g. from `timeout`) into KeyboardInterrupt, so pytest still stops the stack's processes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
