"""The highest open-loop checkout rate the whole stack sustains, and what it costs.

One trial drives the demo's checkout mix at a fixed arrival rate for a window
(:mod:`paysim.sim.open_loop`), waits for every saga to settle, and judges it with the
demo's report: sustained when no start was missed, no checkout failed, every order ended
as its scenario expects and every invariant holds. The search doubles the rate from a
start until a trial fails, then bisects a bounded number of times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from paysim.bench.stack_processes import cpu_seconds, cpu_used_since, stack_processes
from paysim.config import Settings
from paysim.infra import Endpoints
from paysim.infra.service_launcher import ServiceUrls
from paysim.sim.checkout_run import settle
from paysim.sim.driver import CheckoutDriver
from paysim.sim.open_loop import pool_size, run_open_loop
from paysim.sim.report import build_report
from paysim.sim.saga_latency import confirm_to_pending_ms, percentile


@dataclass
class Trial:
    """One arrival rate held for one window, and what came of it."""

    rate_per_s: float
    sustained: bool
    why: str
    started: int
    completed: int
    window_s: float
    seconds: float
    """From the first start to the last checkout's end."""
    cpu_s_by_process: dict[str, float] = field(default_factory=dict)
    latency_ms: list[float] = field(default_factory=list)

    @property
    def achieved_per_s(self) -> float:
        """Checkouts completed per second of the arrival schedule: the arrival rate
        itself when sustained, less when starts were missed or checkouts failed."""
        return self.completed / self.window_s if self.window_s > 0 else 0.0

    def cpu_ms_per_saga(self) -> dict[str, float]:
        sagas = max(1, self.completed)
        return {name: 1000 * s / sagas for name, s in self.cpu_s_by_process.items()}

    def summary(self) -> dict[str, Any]:
        """The trial as the history file keeps it (for throughput and latency plots)."""
        return {
            "rate_per_s": self.rate_per_s,
            "sustained": self.sustained,
            "why": self.why,
            "started": self.started,
            "completed": self.completed,
            "achieved_per_s": round(self.achieved_per_s, 3),
            **{f"p{q}_ms": percentile(self.latency_ms, q / 100) for q in (50, 90, 99)},
            "cpu_ms_per_saga": round(sum(self.cpu_ms_per_saga().values()), 2),
        }


def run_trial(
    settings: Settings,
    endpoints: Endpoints,
    urls: ServiceUrls,
    *,
    rate_per_s: float,
    window_s: float,
    saga_budget_s: float,
    seed: int,
) -> Trial:
    processes = stack_processes(settings)
    before = cpu_seconds(processes)
    driver = CheckoutDriver(urls.payment_api, urls.order_api)
    try:
        run = run_open_loop(
            driver.run,
            rate_per_s=rate_per_s,
            window_s=window_s,
            workers=pool_size(rate_per_s, saga_budget_s),
            seed=seed,
        )
    finally:
        driver.close()
    order_ids = [o.order_id for o in run.outcomes if o.order_id is not None]
    # Settled even when missed, so the next trial starts on a quiet stack.
    facts = settle(endpoints, urls, order_ids, Console(quiet=True))
    cpu = cpu_used_since(processes, before)
    report = build_report(run.outcomes, facts, {}, run.seconds)
    if not run.sustained:
        why = f"{run.missed} of {run.scheduled} starts missed (workers busy or generator late)"
    elif not report.ok:
        problems = [str(v) for v in report.verdicts if not v.ok] + report.errors
        why = (problems + report.unexpected)[0]
    else:
        why = ""
    return Trial(
        rate_per_s=rate_per_s,
        sustained=not why,
        why=why,
        started=len(run.outcomes),
        completed=sum(1 for o in run.outcomes if o.error is None),
        window_s=window_s,
        seconds=run.seconds,
        cpu_s_by_process=cpu,
        latency_ms=confirm_to_pending_ms(urls.payment_api, urls.order_api, run.outcomes)
        if run.sustained
        else [],
    )


@dataclass(frozen=True, slots=True)
class SearchBounds:
    first_rate: float = 2.0
    max_rate: float = 256.0
    bisect_steps: int = 2
    max_trials: int = 12
    latency_rate: float = 100.0
    """The rate the latency figure is named at, when the stack sustains it."""


def search(trial: Callable[[float], Trial], bounds: SearchBounds, deadline: float) -> list[Trial]:
    """Trials doubling the rate until one fails, then bisecting; bounded in count and
    by ``deadline`` (monotonic), whichever comes first. At least one trial runs."""
    trials: list[Trial] = []

    def more() -> bool:
        return not trials or (len(trials) < bounds.max_trials and time.monotonic() < deadline)

    good, bad, rate = 0.0, None, bounds.first_rate
    while rate <= bounds.max_rate and more():
        trials.append(trial(rate))
        if not trials[-1].sustained:
            bad = rate
            break
        good, rate = rate, rate * 2
    for _ in range(bounds.bisect_steps):
        if bad is None or not more():
            break
        rate = round((good + bad) / 2, 2)
        if rate <= good or rate >= bad:
            break
        trials.append(trial(rate))
        good, bad = (rate, bad) if trials[-1].sustained else (good, rate)
    named = any(t.rate_per_s == bounds.latency_rate for t in trials)
    if good >= bounds.latency_rate and not named and more():
        trials.append(trial(bounds.latency_rate))
    return trials


def best(trials: list[Trial]) -> Trial | None:
    """The sustained trial at the highest rate."""
    held = [t for t in trials if t.sustained]
    return max(held, key=lambda t: t.rate_per_s) if held else None


def latency_trial(trials: list[Trial], bounds: SearchBounds) -> Trial | None:
    """The trial the latency figure comes from: at the named rate if held, else the best."""
    at_rate = [t for t in trials if t.sustained and t.rate_per_s == bounds.latency_rate]
    return at_rate[0] if at_rate else best(trials)
