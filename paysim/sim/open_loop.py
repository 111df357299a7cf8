"""Open-loop load: checkouts start on a fixed arrival schedule, whatever is in flight.

Closed-loop clients (N workers, each starting its next checkout when the last ends) slow
down with the system they measure and hide its queueing. Here checkout ``i`` starts at
``i / rate`` seconds, run by a bounded pool of workers; a start that finds every worker
busy, or that the generator itself reaches over ``LATE_LIMIT_S`` late, is *missed*,
and a run with a missed start did not sustain its rate. The schedule stops at the first
miss when asked to, so a rate that is out of reach costs little time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from paysim.sim.scenarios import CheckoutPlan, plan_checkouts

LATE_LIMIT_S = 1.0
"""A start this late means the load generator, not the stack, set the pace."""
MAX_POOL = 2_048

Outcome = TypeVar("Outcome")


@dataclass
class OpenLoopRun(Generic[Outcome]):
    """What an open-loop run started, what came of it, and what it missed."""

    rate_per_s: float
    window_s: float
    scheduled: int
    outcomes: list[Outcome] = field(default_factory=list)
    missed: int = 0
    worst_late_s: float = 0.0
    seconds: float = 0.0
    """From the first start to the last checkout's end."""

    @property
    def sustained(self) -> bool:
        return self.missed == 0 and len(self.outcomes) == self.scheduled


def pool_size(rate_per_s: float, saga_budget_s: float) -> int:
    """Workers enough for ``rate`` checkouts/s each taking up to ``saga_budget_s``."""
    return max(4, min(MAX_POOL, int(rate_per_s * saga_budget_s + 0.999)))


def run_open_loop(
    job: Callable[[CheckoutPlan], Outcome],
    *,
    rate_per_s: float,
    window_s: float,
    workers: int,
    seed: int,
    stop_on_miss: bool = True,
    on_start: Callable[[int], None] | None = None,
) -> OpenLoopRun[Outcome]:
    """Start ``job(plan)`` for ``rate * window`` seeded plans at fixed times; wait for all."""
    plans = plan_checkouts(max(1, round(rate_per_s * window_s)), seed)
    run: OpenLoopRun[Outcome] = OpenLoopRun(rate_per_s, window_s, len(plans))
    busy = threading.Semaphore(workers)
    futures: list[Future[Outcome]] = []

    def release(_done: Future[Outcome]) -> None:
        busy.release()

    started = time.monotonic()
    with ThreadPoolExecutor(workers, thread_name_prefix="open-loop") as pool:
        for index, plan in enumerate(plans):
            due = started + index / rate_per_s
            time.sleep(max(0.0, due - time.monotonic()))
            late = time.monotonic() - due
            run.worst_late_s = max(run.worst_late_s, late)
            if late > LATE_LIMIT_S or not busy.acquire(blocking=False):
                run.missed += 1
                if stop_on_miss:
                    run.missed += len(plans) - index - 1
                    break
                continue
            future = pool.submit(job, plan)
            future.add_done_callback(release)
            futures.append(future)
            if on_start is not None:
                on_start(index + 1)
        run.outcomes = [future.result() for future in futures]
    run.seconds = time.monotonic() - started
    return run
