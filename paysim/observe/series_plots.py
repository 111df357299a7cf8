"""Curves over time for notebooks: rates, gauges and consumer lag, from ``sampling``.

Like the saga timeline, each builds a ``matplotlib.figure.Figure`` without pyplot (no
backend chosen, no global state), draws into ``ax`` when one is given, and puts time on
the x axis as seconds since ``since`` (default: the first sample), so curves recorded
side by side share one axis.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from paysim.observe.figures import figure_and_axes

Span = tuple[pd.Timestamp, pd.Timestamp, str]
"""A shaded interval of a plot: (start, end, label), e.g. when a consumer was stopped."""


def _seconds(times: Iterable[pd.Timestamp], since: pd.Timestamp) -> list[float]:
    return [(pd.Timestamp(t) - since).total_seconds() for t in times]


def series_plot(
    series: pd.DataFrame,
    *,
    ylabel: str,
    title: str | None = None,
    since: pd.Timestamp | None = None,
    spans: Iterable[Span] = (),
    max_lines: int = 8,
    ax: Axes | None = None,
) -> Figure:
    """One line per column of ``series`` (index: UTC times), shaded ``spans`` behind.

    Only the ``max_lines`` columns with the largest totals are drawn, and columns that
    are zero throughout are left out, so a busy counter with many label values stays
    readable.
    """
    figure, ax = figure_and_axes(ax, (9, 3.2))
    if series.empty:
        ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
        return figure
    origin = since if since is not None else pd.Timestamp(series.index.min())
    x = _seconds(series.index, origin)
    totals = series.abs().sum().sort_values(ascending=False)
    columns = (totals[totals > 0] if (totals > 0).any() else totals).index[:max_lines]
    for column in columns:
        ax.plot(x, series[column].to_list(), label=str(column), linewidth=1.4)
    for start, end, label in spans:
        left, right = _seconds([start, end], origin)
        ax.axvspan(left, right, color="tab:red", alpha=0.12, label=label)
    ax.set_xlabel("seconds")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return figure
