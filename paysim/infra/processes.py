"""Child processes that outlive the command that started them: spawn, find, stop.

The native backend runs the broker and stripe-mock as detached processes (their own
session), so ``paysim infra up`` can return while they keep running. A process is
identified by pid *and* start time, so a recycled pid is never mistaken for ours.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from paysim.errors import InfraError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProcessHandle:
    """A process we started: enough to find it again from another command."""

    name: str
    pid: int
    create_time: float
    log_path: str

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return (
                abs(proc.create_time() - self.create_time) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.NoSuchProcess:
            return False


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessHandle:
    """Start a detached process whose stdout and stderr go to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            # Own session: the process survives the CLI that started it and can be
            # stopped as a group (the JVM and stripe-mock spawn no helpers, but be safe).
            start_new_session=True,
        )
    create_time = psutil.Process(proc.pid).create_time()
    log.info("started %s pid=%s log=%s", name, proc.pid, log_path)
    return ProcessHandle(name, proc.pid, create_time, str(log_path))


def stop(handle: ProcessHandle, timeout_s: float = 15.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL what is left. Idempotent."""
    if not handle.alive():
        return
    try:
        os.killpg(handle.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        psutil.Process(handle.pid).wait(timeout=timeout_s)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        log.warning(
            "%s pid=%s ignored SIGTERM for %.0fs; killing", handle.name, handle.pid, timeout_s
        )
        try:
            os.killpg(handle.pid, signal.SIGKILL)
            psutil.Process(handle.pid).wait(timeout=5)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass


@contextmanager
def all_or_none() -> Iterator[list[ProcessHandle]]:
    """A list to add each process to as it is started; if the block fails, every process
    in it is stopped, so a stack that could not start whole is not left half running."""
    started: list[ProcessHandle] = []
    try:
        yield started
    except BaseException:
        for handle in started:
            stop(handle)
        raise


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1.

    All are held open until every one is chosen: ports asked for one by one may come back
    twice (each is free again once its probe closes), and two processes given the same
    port leave one dead while the other answers its health checks.
    """
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: str | Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout_s: float,
    process: ProcessHandle | None = None,
    interval_s: float = 0.1,
) -> None:
    """Poll ``ready`` until it is true; fail with the process's log tail if it dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and not process.alive():
            raise InfraError(
                f"{what} exited during start-up. Last lines of {process.log_path}:\n"
                f"{tail(process.log_path)}"
            )
        time.sleep(interval_s)
    detail = f" Last lines of {process.log_path}:\n{tail(process.log_path)}" if process else ""
    raise InfraError(f"{what} was not ready after {timeout_s:.0f}s.{detail}")
