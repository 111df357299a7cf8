"""The Stripe events the payment service accepted, once per Stripe event id.

Written and read on the caller's connection (inside its unit of work).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, select
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.services.payment.tables import webhook_events
from paysim.store.retention import Expiring

EXPIRING = Expiring(webhook_events.c.received_at)
"""Records past the retention horizon are pruned (``paysim.store.retention``). Stripe
retries a delivery for up to three days: one retried after its record is gone is
recorded and offered again, and changes nothing, since a payment only moves forward."""


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """One Stripe event as the payment service recorded it."""

    stripe_event_id: str
    type: str
    payment_id: int | None
    """None: no payment matched the event when it arrived (the note says which intent)."""
    applied: bool
    note: str | None
    received_at: datetime


def seen(conn: Connection, stripe_event_id: str) -> bool:
    """Has this Stripe event been recorded already (a second delivery)?"""
    found = conn.execute(
        select(webhook_events.c.stripe_event_id).where(
            webhook_events.c.stripe_event_id == stripe_event_id
        )
    ).first()
    return found is not None


def record(conn: Connection, entry: WebhookRecord) -> None:
    conn.execute(insert(webhook_events).values(**asdict(entry)))


def _records(conn: Connection, where: ColumnElement[bool]) -> list[WebhookRecord]:
    rows = conn.execute(select(webhook_events).where(where).order_by(webhook_events.c.received_at))
    return [_record(row) for row in rows]


def _record(row: Any) -> WebhookRecord:
    # SQLite hands back naive datetimes; they were written in UTC.
    return WebhookRecord(**{**row._mapping, "received_at": as_utc(row.received_at)})


def for_payment(conn: Connection, payment_id: int) -> list[WebhookRecord]:
    """The events recorded against one payment, oldest first."""
    return _records(conn, webhook_events.c.payment_id == payment_id)


def by_ids(conn: Connection, stripe_event_ids: Collection[str]) -> list[WebhookRecord]:
    """These events, whatever payment they matched, oldest first."""
    return _records(conn, webhook_events.c.stripe_event_id.in_(list(stripe_event_ids)))
