"""Small plots for notebooks and run reports: event rates over time, consumer lag.

Like the saga timeline, each builds a ``matplotlib.figure.Figure`` without pyplot, so
it works headless and touches no global backend.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from paysim.observe.figures import figure_and_axes


def event_rates(frame: pd.DataFrame, bucket: str = "1s") -> pd.DataFrame:
    """Events per bucket of time, one column per event type (from a topic frame)."""
    data = frame.dropna(subset=["eventType"])
    counts = (
        data.set_index(pd.to_datetime(data["timestamp"], utc=True))
        .groupby("eventType")
        .resample(bucket)
        .size()
    )
    if counts.empty:
        return pd.DataFrame()
    return counts.unstack(level=0, fill_value=0).fillna(0).astype("int64")


def rates_plot(frame: pd.DataFrame, *, bucket: str = "1s", ax: Axes | None = None) -> Figure:
    """Events per ``bucket`` over time by event type, from a frame of ``topic_frame``."""
    rates = event_rates(frame, bucket)
    if rates.empty:
        raise ValueError("no events to plot")
    figure, ax = figure_and_axes(ax, (11, 4))
    seconds = pd.Timedelta(bucket).total_seconds()
    for event_type in rates.columns:
        ax.step(rates.index, rates[event_type] / seconds, where="post", label=str(event_type))
    ax.set_ylabel("events per second")
    ax.set_xlabel("time (UTC)")
    ax.legend(fontsize=7, ncols=2)
    ax.grid(alpha=0.3)
    return figure


def lag_plot(lag: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Lag per (group, topic, partition) as horizontal bars, from ``lag_frame``."""
    if lag.empty:
        raise ValueError("no lag to plot")
    figure, ax = figure_and_axes(ax, (9, 1 + 0.3 * len(lag)))
    names = [
        f"{g} {t}[{p}]"
        for g, t, p in zip(lag["group"], lag["topic"], lag["partition"], strict=True)
    ]
    ax.barh(names, lag["lag"].astype("int64"))
    ax.invert_yaxis()
    ax.set_xlabel("records behind (high watermark - committed)")
    ax.grid(axis="x", alpha=0.3)
    return figure
