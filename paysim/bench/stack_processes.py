"""Every process of the running stack, found from the run folder, with its CPU and memory.

The broker and stripe-mock from the infrastructure's state, each service from
``services.json``, and this process (the load generator). A part's children are counted
with it, so a launcher that forks its real work is measured whole; but not this
process's, which are the very stack it started.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import psutil

from paysim import infra
from paysim.config import Settings
from paysim.infra import service_launcher

LOAD_GENERATOR = "load generator"


def stack_processes(settings: Settings) -> dict[str, psutil.Process]:
    """Name → process, for each part of the stack that is running."""
    found = {name: psutil.Process(pid) for name, pid in infra.status(settings).pids.items()}
    services = service_launcher.status(settings)
    for handle in services.processes if services is not None else []:
        found[handle.name] = psutil.Process(handle.pid)
    found[LOAD_GENERATOR] = psutil.Process(os.getpid())
    return found


def _summed(process: psutil.Process, measure: Callable[[psutil.Process], float]) -> float:
    """``measure`` of the process plus its children; parts that ended count nothing."""
    try:
        own = process.pid == os.getpid()
        parts = [process, *([] if own else process.children(recursive=True))]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for part in parts:
        try:
            total += measure(part)
        except psutil.NoSuchProcess:
            continue
    return total


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """User plus system CPU seconds each process (with its children) has used so far."""
    return {name: _summed(process, _cpu) for name, process in processes.items()}


def cpu_used_since(
    processes: dict[str, psutil.Process], before: dict[str, float]
) -> dict[str, float]:
    """CPU seconds each process used since ``before`` (a :func:`cpu_seconds` reading)."""
    now = cpu_seconds(processes)
    return {name: max(0.0, now[name] - before.get(name, 0.0)) for name in now}


def rss_mib(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """Resident memory of each process (with its children), in MiB."""
    return {
        name: _summed(process, lambda p: p.memory_info().rss) / 2**20
        for name, process in processes.items()
    }
