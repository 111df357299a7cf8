"""Adding an event's contribution to the stored totals, and reading them back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from paysim.domain.money import Money
from paysim.domain.payment_analytics import Contribution, Totals
from paysim.services.analytics.tables import event_counts, refunded_payments, revenue


def add(conn: Connection, part: Contribution, event_id: str, now: datetime) -> None:
    """Count the event and add its amounts, in the caller's transaction."""
    counted = conn.execute(
        update(event_counts)
        .where(event_counts.c.event_type == part.event_type.value)
        .values(count=event_counts.c.count + 1)
    )
    if counted.rowcount == 0:
        conn.execute(insert(event_counts).values(event_type=part.event_type.value, count=1))
    if part.captured is not None:
        _add_money(conn, part.captured, captured=True)
    if part.refunded is not None:
        _add_money(conn, part.refunded, captured=False)
    if part.refunded_payment is not None:
        seen = conn.execute(
            select(refunded_payments.c.payment_key).where(
                refunded_payments.c.payment_key == part.refunded_payment
            )
        ).first()
        if seen is None:
            conn.execute(
                insert(refunded_payments).values(
                    payment_key=part.refunded_payment, first_event_id=event_id, at=now
                )
            )


def _add_money(conn: Connection, amount: Money, *, captured: bool) -> None:
    column = revenue.c.captured_minor if captured else revenue.c.refunded_minor
    # In SQL (column + n), so that concurrent writers on PostgreSQL cannot lose an update.
    changed = conn.execute(
        update(revenue)
        .where(revenue.c.currency == amount.currency)
        .values({column: column + amount.minor})
    )
    if changed.rowcount == 0:
        conn.execute(
            insert(revenue).values(
                currency=amount.currency,
                captured_minor=amount.minor if captured else 0,
                refunded_minor=0 if captured else amount.minor,
            )
        )


def totals(conn: Connection) -> Totals:
    counts = {str(t): int(n) for t, n in conn.execute(select(event_counts))}
    money = list(conn.execute(select(revenue)))
    refunded = conn.execute(select(func.count()).select_from(refunded_payments)).scalar_one()
    return Totals(
        counts=counts,
        captured_minor={r.currency: int(r.captured_minor) for r in money},
        refunded_minor={r.currency: int(r.refunded_minor) for r in money},
        refunded_payments=int(refunded),
    )
