"""The payment service's own audit trail, read over its HTTP API: for notebooks.

The payment API shows a payment as it is now; how it got there is in the service's audit
trail: every move offered to a payment, applied or ignored, and why
(``/api/payments/{id}/history``), and every Stripe event it accepted, once per event id
(``/api/payments/{id}/webhook-events``, ``/api/webhook-events?stripeEventId=...``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from paysim.observe.summary_tables import get_json

TRANSITION_COLUMNS = ["at", "from_status", "to_status", "applied", "cause", "note"]
WEBHOOK_COLUMNS = ["received_at", "stripe_event_id", "type", "payment_id", "applied", "note"]
# The API's field names, as the frame's columns.
TRANSITION_FIELDS = {"at": "at", "from": "from_status", "to": "to_status"}
WEBHOOK_FIELDS = {
    "receivedAt": "received_at",
    "stripeEventId": "stripe_event_id",
    "paymentId": "payment_id",
}


def _frame(
    rows: list[Mapping[str, Any]], fields: Mapping[str, str], columns: list[str]
) -> pd.DataFrame:
    frame = pd.DataFrame(
        [{fields.get(key, key): value for key, value in row.items()} for row in rows],
        columns=columns,
    )
    frame[columns[0]] = pd.to_datetime(frame[columns[0]], utc=True)
    if "payment_id" in frame:
        frame["payment_id"] = frame["payment_id"].astype("Int64")  # None: no payment matched
    return frame


def payment_transitions_frame(payment_api: str, payment_id: int) -> pd.DataFrame:
    """Every status move offered to one payment, in order: applied, or ignored and why."""
    rows = get_json(f"{payment_api}/api/payments/{payment_id}/history")
    return _frame(rows, TRANSITION_FIELDS, TRANSITION_COLUMNS)


def webhook_events_frame(payment_api: str, payment_id: int) -> pd.DataFrame:
    """The Stripe events the payment service accepted for one payment (once per event id)."""
    rows = get_json(f"{payment_api}/api/payments/{payment_id}/webhook-events")
    return _frame(rows, WEBHOOK_FIELDS, WEBHOOK_COLUMNS)


def webhook_events_by_id(payment_api: str, stripe_event_ids: Iterable[str]) -> pd.DataFrame:
    """The payment service's record of these Stripe events, whatever payment they matched.

    An event can arrive before the payment it is about is committed (Stripe sends
    ``payment_intent.created`` as soon as the PaymentIntent exists); it is recorded with
    no ``payment_id`` and the note says so.
    """
    ids = list(stripe_event_ids)
    rows = get_json(f"{payment_api}/api/webhook-events", {"stripeEventId": ids}) if ids else []
    return _frame(rows, WEBHOOK_FIELDS, WEBHOOK_COLUMNS)
