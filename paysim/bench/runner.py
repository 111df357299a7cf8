"""The whole benchmark run: its own run folder and stack, every figure, one result.

The stack (broker, stripe-mock, emulator, services) is started in a run folder of the
benchmark's own and stopped at the end. The first repetition of every figure always
runs; later ones run while the time budget allows (a repetition is skipped when the
last one of the same figure would not fit), and the result says how many of each ran.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from paysim import infra
from paysim.bench import hot_path, lag_drain, raw_relay
from paysim.bench.figures import append_history, median_by_key, summarize
from paysim.bench.stack_processes import rss_mib, stack_processes
from paysim.bench.sustained import SearchBounds, Trial, best, latency_trial, run_trial, search
from paysim.config import Settings
from paysim.infra import Endpoints, service_launcher
from paysim.infra.service_launcher import ServiceUrls
from paysim.sim.saga_latency import percentile

RSS_SAMPLES = 3
START_TIMEOUT_S = 240.0
"""A broker restarted on a machine this run keeps busy may take minutes to be ready."""
IDLE_SETTLE_S = 3.0


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """How much the benchmark measures; :meth:`quick` shrinks everything."""

    repeat: int = 3
    hot_path_events: int = 100_000
    hot_path_max_s: float = 240.0
    """The hot path stops here if its events are not all handled yet (rate over those
    handled): 100k events at today's few hundred per second would take the whole run."""
    window_s: float = 60.0
    lag_pause_s: float = 60.0
    lag_rate_per_s: float | None = None
    """None: half the sustained rate (at least 1/s)."""
    saga_budget_s: float = 30.0
    """Workers for a rate: enough for checkouts taking this long each (open loop). A
    whole checkout waits for the restaurant and the courier too: 8 s missed starts on
    today's stack at 1/s while its confirm → PENDING p99 was 0.4 s."""
    budget_s: float = 840.0
    """Repetitions after the first run only while the run is within this many seconds."""
    bounds: SearchBounds = field(default_factory=SearchBounds)
    seed: int = 1

    @classmethod
    def quick(cls) -> BenchOptions:
        return cls(
            repeat=1,
            hot_path_events=5_000,
            hot_path_max_s=60.0,
            window_s=8.0,
            lag_pause_s=8.0,
            budget_s=300.0,
            bounds=SearchBounds(max_rate=4.0, bisect_steps=0, max_trials=2),
        )


def bench_base(settings: Settings) -> Path:
    """Where the benchmark keeps its run folders and its history."""
    return settings.cache_dir / "bench"


def default_history(settings: Settings) -> Path:
    return bench_base(settings) / "history.jsonl"


def git_sha() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


class _Phases:
    """Runs named steps, each repetition after the first only within the budget."""

    def __init__(self, budget_s: float, progress: Progress) -> None:
        self._started = time.monotonic()
        self._budget_s = budget_s
        self._last: dict[str, float] = {}
        self.ran: dict[str, int] = {}
        self._progress = progress
        self._task = progress.add_task("starting", total=None)

    def note(self, text: str) -> None:
        self._progress.update(self._task, description=text)

    def run(self, name: str, repetition: int, step: Callable[[int], None]) -> None:
        elapsed = time.monotonic() - self._started
        if repetition > 0 and elapsed + self._last.get(name, 0.0) > self._budget_s:
            return
        self.note(f"{name} ({repetition + 1})")
        began = time.monotonic()
        step(repetition)
        self._last[name] = time.monotonic() - began
        self.ran[name] = self.ran.get(name, 0) + 1


@dataclass
class _Collected:
    values: dict[str, list[float]] = field(default_factory=dict)
    trials: list[list[Trial]] = field(default_factory=list)
    lag: list[dict[str, float]] = field(default_factory=list)
    rss: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)


def _saga_figures(searches: list[list[Trial]], bounds: SearchBounds) -> dict[str, Any]:
    out: dict[str, list[float]] = {"saga_sustained_per_s": [], "cpu_ms_per_saga": []}
    by_process: list[dict[str, float]] = []
    latencies: list[float] = []
    latency_rate = None
    for trials in searches:
        held = best(trials)
        out["saga_sustained_per_s"].append(held.rate_per_s if held else 0.0)
        costed = held or trials[0]
        per_process = costed.cpu_ms_per_saga()
        by_process.append(per_process)
        out["cpu_ms_per_saga"].append(sum(per_process.values()))
        timed = latency_trial(trials, bounds)
        if timed is not None:
            latencies += timed.latency_ms
            latency_rate = (
                timed.rate_per_s if latency_rate is None else min(latency_rate, timed.rate_per_s)
            )
    return {
        **summarize(out),
        "cpu_ms_per_saga_by_process": median_by_key(by_process),
        "saga_p50_ms": percentile(latencies, 0.5),
        "saga_p90_ms": percentile(latencies, 0.9),
        "saga_p99_ms": percentile(latencies, 0.99),
        "saga_latency_rate_per_s": latency_rate,
        "saga_trials": [t.summary() for trials in searches for t in trials],
    }


@dataclass
class _OnStack:
    """The measurements that need the running stack, each adding to ``got``."""

    settings: Settings
    endpoints: Endpoints
    urls: ServiceUrls
    options: BenchOptions
    phases: _Phases
    got: _Collected = field(default_factory=_Collected)

    def raw(self, _repetition: int) -> None:
        figure = raw_relay.measure(self.endpoints.bootstrap_servers, self.options.hot_path_events)
        self.got.add("raw", figure.per_s)

    def hot(self, _repetition: int) -> None:
        figure = hot_path.measure(
            self.settings,
            self.endpoints.bootstrap_servers,
            self.options.hot_path_events,
            self.settings.resolved_run_dir / "hot-path",
            max_s=self.options.hot_path_max_s,
        )
        self.got.add("hot", figure.per_s)
        self.got.add("hot_records", figure.records)

    def search(self, repetition: int) -> None:
        options = self.options

        def trial(rate: float) -> Trial:
            self.phases.note(
                f"saga rate search ({repetition + 1}): {rate:g}/s for {options.window_s:g} s"
            )
            return run_trial(
                self.settings,
                self.endpoints,
                self.urls,
                rate_per_s=rate,
                window_s=options.window_s,
                saga_budget_s=options.saga_budget_s,
                seed=options.seed + repetition,
            )

        # Each repetition's search gets its share of the budget, and at least one trial.
        deadline = time.monotonic() + options.budget_s / options.repeat
        self.got.trials.append(search(trial, options.bounds, deadline))

    def lag_rate(self) -> float:
        held = [t.rate_per_s for trials in self.got.trials if (t := best(trials)) is not None]
        sustained = statistics.median(held) if held else 0.0
        return self.options.lag_rate_per_s or max(1.0, sustained / 2)

    def lag(self, repetition: int) -> None:
        drain = lag_drain.measure(
            self.settings,
            self.endpoints.bootstrap_servers,
            self.urls,
            rate_per_s=self.lag_rate(),
            pause_s=self.options.lag_pause_s,
            seed=self.options.seed + 100 + repetition,
        )
        self.got.lag.append(
            {
                "ratio": round(drain.ratio, 3),
                "arrival_records_per_s": round(drain.arrival_rate_per_s, 2),
                "drain_records_per_s": round(drain.drain_rate_per_s, 2),
                "drain_s": round(drain.drain_s, 2),
                "drained": float(drain.drained),
            }
        )


def _measure(
    settings: Settings, options: BenchOptions, phases: _Phases, got: _Collected
) -> _OnStack:
    phases.note("infra up (first in this run folder)")
    cold = time.monotonic()
    infra.up(settings)
    got.add("cold", time.monotonic() - cold)
    for repetition in range(options.repeat):
        phases.run("infra up warm", repetition, lambda _r: _warm_up(settings, got))
    endpoints = infra.up(settings)
    phases.note("services up")
    began = time.monotonic()
    urls = service_launcher.up(settings, endpoints)
    got.add("services", time.monotonic() - began)
    time.sleep(IDLE_SETTLE_S)  # let start-up work finish before reading memory
    got.rss = median_by_key(rss_mib(stack_processes(settings)) for _ in range(RSS_SAMPLES))
    bench = _OnStack(settings, endpoints, urls, options, phases, got)
    for repetition in range(options.repeat):
        phases.run("raw relay", repetition, bench.raw)
        phases.run("hot path", repetition, bench.hot)
        phases.run("saga rate search", repetition, bench.search)
    # Last: the payments it leaves at PENDING would otherwise be in a later trial's way.
    for repetition in range(options.repeat):
        phases.run("lag drain", repetition, bench.lag)
    return bench


def run(options: BenchOptions, settings: Settings, progress_console: Console) -> dict[str, Any]:
    """Start the stack in a run folder of its own, measure everything, stop it; the result."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_dir = bench_base(settings) / f"run-{stamp}-{os.getpid()}"
    settings = settings.model_copy(
        update={
            "run_dir": run_dir,
            "start_timeout_s": max(settings.start_timeout_s, START_TIMEOUT_S),
        }
    )
    began = time.monotonic()
    got = _Collected()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
    )
    try:
        with progress:
            phases = _Phases(options.budget_s, progress)
            bench = _measure(settings, options, phases, got)
    finally:
        with progress_console.status("stopping the stack..."):
            service_launcher.down(settings)
            infra.down(settings)
        shutil.rmtree(run_dir, ignore_errors=True)
    values = got.values
    ratios = [
        h / r for h, r in zip(values.get("hot", []), values.get("raw", []), strict=False) if r
    ]
    figures = summarize(
        {
            "kafka_raw_relay_per_s": values.get("raw", []),
            "hot_path_per_s": values.get("hot", []),
            "hot_path_ratio": ratios,
            "lag_drain_ratio": [lag["ratio"] for lag in got.lag],
            "infra_up_warm_s": values.get("warm", []),
            "infra_up_cold_s": values.get("cold", []),
            "services_up_s": values.get("services", []),
            "hot_path_records": values.get("hot_records", []),
        }
    )
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_sha": git_sha(),
        "cores": os.cpu_count(),
        **figures,
        **_saga_figures(got.trials, options.bounds),
        "lag_drain_arrival_per_s": bench.lag_rate(),
        "lag_drain_runs": got.lag,
        "stack_rss_mib": round(sum(got.rss.values()), 1),
        "stack_rss_mib_by_process": got.rss,
        "repeats": phases.ran,
        "hot_path_events": options.hot_path_events,
        "window_s": options.window_s,
        "lag_pause_s": options.lag_pause_s,
        "seconds": round(time.monotonic() - began, 1),
    }


def _warm_up(settings: Settings, got: _Collected) -> None:
    infra.down(settings)
    began = time.monotonic()
    infra.up(settings)
    got.add("warm", time.monotonic() - began)


def with_history(result: dict[str, Any], history: Path) -> dict[str, Any]:
    """Append the result to the history file; the result with the file's path."""
    append_history(history, result)
    return {**result, "history": str(history)}
