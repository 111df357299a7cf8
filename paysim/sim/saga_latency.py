"""Confirm → PENDING from the servers' own clocks, for a sample of checkouts.

The payment service's audit trail says when a payment became COMPLETED, the order
service's when its order became PENDING: the span between them is the saga's hop through
the outbox, Kafka and the order consumer, without the load generator's own delays.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import pandas as pd

from paysim.sim.driver import CheckoutOutcome
from paysim.sim.report import entered_at

TIMEOUT = httpx.Timeout(30.0)
SAMPLE = 300
"""Checkouts whose histories are read: enough for a p99, bounded in time."""


def _history(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    response.raise_for_status()
    data: Any = response.json()
    return list(data["history"] if isinstance(data, dict) else data)


def confirm_to_pending_ms(
    payment_api: str,
    order_api: str,
    outcomes: Iterable[CheckoutOutcome],
    *,
    sample: int = SAMPLE,
    seed: int = 0,
) -> list[float]:
    """Milliseconds from payment COMPLETED to order PENDING, for up to ``sample`` paid
    checkouts drawn with ``seed``."""
    paid = [o for o in outcomes if o.confirmed_at is not None and o.order_id and o.payment_id]
    chosen = random.Random(seed).sample(paid, min(sample, len(paid)))
    spans = []
    with httpx.Client(timeout=TIMEOUT) as client:
        for out in chosen:
            completed = entered_at(
                _history(client, f"{payment_api}/api/payments/{out.payment_id}/history"),
                "COMPLETED",
            )
            pending = entered_at(
                _history(client, f"{order_api}/api/orders/{out.order_id}"), "PENDING"
            )
            if completed is not None and pending is not None:
                spans.append((pending - completed).total_seconds() * 1000)
    return spans


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values``, None when there are none."""
    return float(pd.Series(values, dtype=float).quantile(q)) if values else None
