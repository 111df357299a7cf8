"""Where a notebook plot draws: the caller's axes, or a figure of its own.

Figures are built with ``matplotlib.figure.Figure`` directly, not through pyplot: no
backend is chosen, no global state is touched, and they render the same headless (CI,
``savefig``) as in a notebook, which displays a returned Figure by itself.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure


def figure_and_axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    """``ax`` and the figure it belongs to, or, without ``ax``, a new figure of ``size``
    inches (width, height) and its one pair of axes."""
    if ax is not None:
        figure = ax.get_figure(root=True)
        if not isinstance(figure, Figure):
            raise ValueError("the axes belong to no figure")
        return figure, ax
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()
