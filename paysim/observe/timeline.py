"""One order's saga drawn as a timeline: a lane per service, a mark per event.

Input is a frame from ``paysim.observe.frames`` (``audit_trail`` for one order). The
figure is built without pyplot (see ``figures``), so it renders the same headless as in
a notebook.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from paysim.observe.figures import figure_and_axes

UNKNOWN_SOURCE = "(undecodable)"
"""The lane of records that did not decode, so they are seen rather than dropped."""

LANE_HEIGHT_IN = 0.9


def lanes(frame: pd.DataFrame) -> list[str]:
    """The services of a frame, in the order they first act (the saga's reading order)."""
    ordered = frame.sort_values("timestamp", kind="stable")
    return list(dict.fromkeys(ordered["source"].fillna(UNKNOWN_SOURCE)))


def saga_timeline(
    frame: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """Draw the events of ``frame`` (columns ``timestamp``, ``source``, ``eventType``).

    One horizontal lane per ``source`` (payment-service, order-service, ...), one mark per
    event at its time, labelled with its event type; the x axis is milliseconds since the
    first event. Draws into ``ax`` if given, else into a new figure; returns the figure.
    """
    if frame.empty:
        raise ValueError("no events to draw")
    data = frame.sort_values("timestamp", kind="stable")
    sources = data["source"].fillna(UNKNOWN_SOURCE)
    names = lanes(data)
    lane_of = {name: i for i, name in enumerate(names)}
    times = pd.to_datetime(data["timestamp"], utc=True)
    elapsed_ms = (times - times.iloc[0]).dt.total_seconds() * 1000
    labels = data["eventType"].fillna("?").astype(str)

    figure, ax = figure_and_axes(ax, (11, 1.6 + LANE_HEIGHT_IN * len(names)))

    for name, lane in lane_of.items():
        mine = sources == name
        ax.axhline(lane, color="0.85", linewidth=1, zorder=0)
        # One collection per lane: its points are this lane's events, its gid the service.
        ax.scatter(elapsed_ms[mine], [lane] * int(mine.sum()), s=40, zorder=2, gid=name)
    placed: dict[str, int] = {}
    for x, name, label in zip(elapsed_ms, sources, labels, strict=True):
        # Alternate above and below within a lane so neighbouring labels do not overprint.
        nth = placed[name] = placed.get(name, -1) + 1
        ax.annotate(
            label,
            (float(x), lane_of[name]),
            xytext=(0, 8 if nth % 2 == 0 else -14),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds since the first event")
    ax.grid(axis="x", alpha=0.3)
    if title is not None:
        ax.set_title(title)
    elif "orderId" in data and data["orderId"].notna().any():
        ax.set_title(f"order {data['orderId'].dropna().iloc[0]}")
    return figure
