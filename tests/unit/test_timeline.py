from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from paysim.observe.plots import event_rates, lag_plot, rates_plot
from paysim.observe.timeline import UNKNOWN_SOURCE, saga_timeline

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

SAGA = [
    (0, "payment-service", "PAYMENT_INITIATED"),
    (40, "order-service", "ORDER_CREATED"),
    (120, "payment-service", "PAYMENT_PROCESSING"),
    (450, "payment-service", "PAYMENT_COMPLETED"),
    (470, "order-service", "ORDER_CONFIRMED"),
    (900, "delivery-service", "DELIVERY_ASSIGNED"),
    (1300, "delivery-service", "DELIVERY_DELIVERED"),
]


def _frame(rows: Sequence[tuple[int, str | None, str | None]]) -> pd.DataFrame:
    # Shuffled on purpose: the timeline orders by time, not by row.
    frame = pd.DataFrame(
        {
            "timestamp": [T0 + timedelta(milliseconds=ms) for ms, _, _ in rows],
            "source": [source for _, source, _ in rows],
            "eventType": [event_type for _, _, event_type in rows],
            "orderId": pd.array([987654321] * len(rows), dtype="Int64"),
        }
    )
    return frame.sample(frac=1, random_state=3)


def _marks(figure: Figure) -> dict[str, list[float]]:
    """x positions of the marks, by the lane (service) they are drawn in."""
    ax = figure.axes[0]
    return {
        str(c.get_gid()): [float(x) for x in np.asarray(c.get_offsets())[:, 0]]
        for c in ax.collections
        if isinstance(c, PathCollection)
    }


def test_one_lane_per_service_and_one_mark_per_event(tmp_path: Path) -> None:
    figure = saga_timeline(_frame(SAGA))
    ax = figure.axes[0]

    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes == ["payment-service", "order-service", "delivery-service"]
    marks = _marks(figure)
    assert set(marks) == set(lanes)
    assert sum(len(xs) for xs in marks.values()) == len(SAGA)
    assert sorted(marks["payment-service"]) == [0.0, 120.0, 450.0]
    assert sorted(marks["delivery-service"]) == [900.0, 1300.0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(e for _, _, e in SAGA)
    assert "milliseconds" in ax.get_xlabel()
    assert ax.get_title() == "order 987654321"

    out = tmp_path / "saga.png"
    figure.savefig(out)
    assert out.exists()
    assert out.stat().st_size > 0


def test_undecodable_records_get_their_own_lane() -> None:
    figure = saga_timeline(_frame([*SAGA[:2], (60, None, None)]))
    lanes = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert lanes == ["payment-service", "order-service", UNKNOWN_SOURCE]


def test_draws_into_given_axes() -> None:
    figure = Figure()
    ax = figure.add_subplot()
    assert saga_timeline(_frame(SAGA), ax=ax, title="checkout") is figure
    assert ax.get_title() == "checkout"


def test_empty_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="no events"):
        saga_timeline(pd.DataFrame(columns=["timestamp", "source", "eventType"]))


def test_rates_and_lag_plots_render(tmp_path: Path) -> None:
    frame = _frame(SAGA)
    rates = event_rates(frame, "500ms")
    assert int(rates.to_numpy().sum()) == len(SAGA)
    rates_plot(frame, bucket="500ms").savefig(tmp_path / "rates.png")

    lag = pd.DataFrame(
        {"group": ["g", "g"], "topic": ["t", "t"], "partition": [0, 1], "lag": [5, 0]}
    )
    lag_plot(lag).savefig(tmp_path / "lag.png")
    assert (tmp_path / "rates.png").stat().st_size > 0
    assert (tmp_path / "lag.png").stat().st_size > 0
