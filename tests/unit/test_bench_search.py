"""The saga rate search, the open-loop schedule and the figures' medians, without a stack."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from paysim.bench.figures import append_history, read_history, summarize
from paysim.bench.sustained import SearchBounds, Trial, best, latency_trial, search
from paysim.sim.open_loop import run_open_loop
from paysim.sim.scenarios import CheckoutPlan


def _trial_up_to(limit: float) -> tuple[list[float], Callable[[float], Trial]]:
    tried: list[float] = []

    def trial(rate: float) -> Trial:
        tried.append(rate)
        held = rate <= limit
        return Trial(rate, held, "" if held else "missed", 10, 10, 1.0, 1.0)

    return tried, trial


def test_the_search_doubles_until_a_rate_fails_then_bisects() -> None:
    tried, trial = _trial_up_to(11)
    trials = search(trial, SearchBounds(bisect_steps=2), deadline=float("inf"))
    assert tried == [2, 4, 8, 16, 12, 10]
    found = best(trials)
    assert found is not None
    assert found.rate_per_s == 10


def test_the_search_is_bounded_in_trials_and_runs_one_past_its_deadline() -> None:
    tried, trial = _trial_up_to(1_000)
    search(trial, SearchBounds(max_trials=3), deadline=float("inf"))
    assert tried == [2, 4, 8]
    tried.clear()
    search(trial, SearchBounds(), deadline=0.0)
    assert tried == [2]


def test_latency_is_taken_at_the_named_rate_once_it_is_sustained() -> None:
    tried, trial = _trial_up_to(150)
    bounds = SearchBounds(bisect_steps=0)
    trials = search(trial, bounds, deadline=float("inf"))
    assert tried[-1] == 100
    timed = latency_trial(trials, bounds)
    assert timed is not None
    assert timed.rate_per_s == 100


def test_a_start_that_finds_every_worker_busy_is_missed() -> None:
    release = threading.Event()

    def stuck(plan: CheckoutPlan) -> int:
        release.wait(10)
        return plan.number

    threading.Timer(1.0, release.set).start()
    run = run_open_loop(stuck, rate_per_s=50, window_s=0.2, workers=2, seed=1)
    assert run.scheduled == 10
    assert run.missed == 8
    assert not run.sustained
    assert sorted(run.outcomes) == [1, 2]


def test_figures_are_medians_with_their_spread_and_history_keeps_each_run(
    tmp_path: Path,
) -> None:
    assert summarize({"x": [3.0, 1.0, 2.0], "y": []}) == {
        "x": 2.0,
        "x_spread": [1.0, 3.0],
        "y": None,
    }
    path = tmp_path / "bench" / "history.jsonl"
    append_history(path, {"run": 1})
    append_history(path, {"run": 2})
    assert [r["run"] for r in read_history(path)] == [1, 2]
