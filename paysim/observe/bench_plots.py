"""Plots of ``paysim bench`` results (the JSON lines of its history file).

A result is a plain mapping, as ``json.loads`` gives it: its ``saga_trials`` (one per
arrival rate tried), its CPU per saga and idle memory per process. Like the other plots,
each builds a ``matplotlib.figure.Figure`` without pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from paysim.observe.figures import figure_and_axes

HEADLINE = (
    "kafka_raw_relay_per_s",
    "hot_path_per_s",
    "hot_path_ratio",
    "saga_sustained_per_s",
    "saga_p99_ms",
    "cpu_ms_per_saga",
    "lag_drain_ratio",
    "stack_rss_mib",
)


def trials_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """One row per arrival rate tried, sorted by rate."""
    trials = pd.DataFrame(result.get("saga_trials") or [])
    return trials.sort_values("rate_per_s").reset_index(drop=True) if not trials.empty else trials


def history_frame(history: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The headline figures of every recorded run, oldest first."""
    rows = [
        {"at": r.get("at"), "git_sha": r.get("git_sha")} | {k: r.get(k) for k in HEADLINE}
        for r in history
    ]
    return pd.DataFrame(rows)


def throughput_plot(result: Mapping[str, Any], *, ax: Axes | None = None) -> Figure:
    """Checkouts completed per second against the arrival rate, sustained rates marked."""
    trials = trials_frame(result)
    if trials.empty:
        raise ValueError("the result has no saga trials")
    figure, ax = figure_and_axes(ax, (6, 4))
    top = float(trials["rate_per_s"].max())
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="completed = arrived")
    for held, style in ((True, "o"), (False, "x")):
        part = trials[trials["sustained"] == held]
        ax.plot(
            part["rate_per_s"],
            part["achieved_per_s"],
            style,
            label="sustained" if held else "not sustained",
        )
    ax.set_xlabel("arrival rate (checkouts/s, open loop)")
    ax.set_ylabel("completed (checkouts/s)")
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def latency_plot(result: Mapping[str, Any], *, ax: Axes | None = None) -> Figure:
    """Confirm → PENDING percentiles (server clocks) against the arrival rate."""
    trials = trials_frame(result)
    measured = trials.dropna(subset=["p50_ms"]) if not trials.empty else trials
    if measured.empty:
        raise ValueError("no trial measured latency")
    figure, ax = figure_and_axes(ax, (6, 4))
    for column in ("p50_ms", "p90_ms", "p99_ms"):
        ax.plot(measured["rate_per_s"], measured[column], marker="o", label=column[:-3])
    ax.set_xlabel("arrival rate (checkouts/s)")
    ax.set_ylabel("confirm → PENDING (ms)")
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def per_process_plot(result: Mapping[str, Any], *, ax: Axes | None = None) -> Figure:
    """CPU ms per saga and idle resident MiB of each process, side by side."""
    frame = pd.DataFrame(
        {
            "CPU ms per saga": pd.Series(result.get("cpu_ms_per_saga_by_process") or {}),
            "idle RSS MiB": pd.Series(result.get("stack_rss_mib_by_process") or {}),
        }
    ).fillna(0)
    if frame.empty:
        raise ValueError("the result has no per-process figures")
    figure, ax = figure_and_axes(ax, (8, 4))
    frame.sort_values("CPU ms per saga").plot.barh(ax=ax)
    ax.set_xlabel("ms per saga  /  MiB")
    ax.grid(alpha=0.3, axis="x")
    return figure
