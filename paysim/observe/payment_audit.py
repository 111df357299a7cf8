"""The payment service's own audit trail, read back from its store: for notebooks.

The payment API shows a payment as it is now; how it got there is in the service's
``payment_transitions`` table (every move offered to a payment, applied or ignored, and
why) and its ``webhook_events`` table (every Stripe event it accepted, once per event
id). Both are read here over a read-only connection, for the default SQLite store in
the run folder of the services that ``paysim up`` started.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from sqlalchemy import ColumnElement, Table, create_engine, select

from paysim.config import Settings
from paysim.observe.service_processes import service_settings
from paysim.services.payment.tables import payment_transitions, webhook_events

TRANSITION_COLUMNS = ["at", "from_status", "to_status", "applied", "cause", "note"]
WEBHOOK_COLUMNS = ["received_at", "stripe_event_id", "type", "payment_id", "applied", "note"]


def payment_store(settings: Settings) -> Path:
    """The payment service's SQLite file, in the run folder it was started with."""
    own = service_settings(settings, "payment")
    return own.resolved_run_dir / "services" / "payment.db"


def _read(
    settings: Settings, table: Table, where: ColumnElement[bool], columns: list[str]
) -> pd.DataFrame:
    path = payment_store(settings)
    if not path.exists():
        raise FileNotFoundError(f"no payment store at {path}")
    # Read-only: the observer never takes the write lock the services queue on.
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        query = (
            select(*(table.c[name] for name in columns)).where(where).order_by(table.c[columns[0]])
        )
        with engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()
    frame = pd.DataFrame(rows, columns=columns)
    frame[columns[0]] = pd.to_datetime(frame[columns[0]], utc=True)
    if "payment_id" in frame:
        frame["payment_id"] = frame["payment_id"].astype("Int64")  # None: no payment matched
    return frame


def payment_transitions_frame(settings: Settings, payment_id: int) -> pd.DataFrame:
    """Every status move offered to one payment, in order: applied, or ignored and why."""
    where = payment_transitions.c.payment_id == payment_id
    return _read(settings, payment_transitions, where, TRANSITION_COLUMNS)


def webhook_events_frame(settings: Settings, payment_id: int) -> pd.DataFrame:
    """The Stripe events the payment service accepted for one payment (once per event id)."""
    return _read(
        settings, webhook_events, webhook_events.c.payment_id == payment_id, WEBHOOK_COLUMNS
    )


def webhook_events_by_id(settings: Settings, stripe_event_ids: Iterable[str]) -> pd.DataFrame:
    """The payment service's record of these Stripe events, whatever payment they matched.

    An event can arrive before the payment it is about is committed (Stripe sends
    ``payment_intent.created`` as soon as the PaymentIntent exists); it is recorded with
    no ``payment_id`` and the note says so.
    """
    where = webhook_events.c.stripe_event_id.in_(list(stripe_event_ids))
    return _read(settings, webhook_events, where, WEBHOOK_COLUMNS)
