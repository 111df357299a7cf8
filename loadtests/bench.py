"""``make bench``: the figures paysim promises, measured in one run on this machine.

- the stack: cold-ish and warm ``infra up`` (seconds), the broker's resident memory;
- the services: ``paysim up`` to every service healthy (seconds);
- checkouts: the demo's mix at concurrency 1 (the baseline) and at 8, in checkouts per
  second, with the ratio between them.

Figures only: nothing here asserts a threshold (targets live in the issues and README).
Runs in its own run folder and stops what it started.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from paysim import infra
from paysim.config import Settings
from paysim.infra import service_launcher
from paysim.sim.checkout_run import run_checkouts

CHECKOUTS = 40


def _timed(step: str, figures: list[tuple[str, str]], action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    seconds = time.monotonic() - started
    figures.append((step, f"{seconds:.2f} s"))
    return seconds


def main() -> None:
    console = Console()
    run_dir = Path(tempfile.mkdtemp(prefix="paysim-bench-"))
    settings = Settings().model_copy(update={"run_dir": run_dir})
    figures: list[tuple[str, str]] = []
    try:
        _timed("infra up (first in this run folder)", figures, lambda: infra.up(settings))
        infra.down(settings)
        _timed("infra up (warm: jars and binary cached)", figures, lambda: infra.up(settings))
        broker = infra.status(settings).pids["kafka"]
        time.sleep(3)  # let the broker settle after start-up before reading its memory
        rss = psutil.Process(broker).memory_info().rss / 2**20
        figures.append(("broker resident memory", f"{rss:.0f} MiB"))
        endpoints = infra.up(settings)
        started = time.monotonic()
        urls = service_launcher.up(settings, endpoints)
        figures.append(("services up (all six healthy)", f"{time.monotonic() - started:.2f} s"))
        rates = {}
        for concurrency in (1, 8):
            report = run_checkouts(
                endpoints,
                urls,
                count=CHECKOUTS,
                seed=concurrency,
                concurrency=concurrency,
                console=Console(quiet=True),
            )
            rates[concurrency] = CHECKOUTS / report.seconds
            figures.append(
                (
                    f"checkouts/s at concurrency {concurrency} "
                    f"({'ok' if report.ok else 'INVARIANTS FAILED'})",
                    f"{rates[concurrency]:.2f}",
                )
            )
        figures.append(("ratio, concurrency 8 vs 1 (baseline)", f"{rates[8] / rates[1]:.2f}x"))
    finally:
        service_launcher.down(settings)
        infra.down(settings)
        shutil.rmtree(run_dir, ignore_errors=True)
    table = Table("figure", "value", title="paysim bench")
    for name, value in figures:
        table.add_row(name, value)
    console.print(table)


if __name__ == "__main__":
    main()
