"""Reading and writing payments on the caller's connection (inside its unit of work)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.domain.money import Money
from paysim.domain.status import PaymentMethod, PaymentStatus, RefundStatus
from paysim.errors import PermanentError
from paysim.services.payment.tables import (
    order_numbers,
    order_owners,
    payment_transitions,
    payments,
    refunds,
)
from paysim.store.audit_trail import AuditTrail

audit = AuditTrail(payment_transitions)
"""Every move offered to a payment, applied or ignored, and why."""


class PaymentNotFoundError(PermanentError):
    """No payment with that id (or intent)."""


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment row, as the service reasons about it."""

    id: int
    order_id: int
    user_id: int
    amount: Money
    status: PaymentStatus
    payment_method: PaymentMethod
    payment_method_id: str | None
    stripe_payment_intent_id: str | None
    stripe_charge_id: str | None
    client_secret: str | None
    receipt_url: str | None
    attempts: int
    captured: Money
    refunded: Money
    failure_reason: str | None
    error_code: str | None
    decline_code: str | None
    cancel_reason: str | None
    created_at: datetime
    status_changed_at: datetime


def _payment(row: Any) -> Payment:
    currency = row.currency
    return Payment(
        id=row.id,
        order_id=row.order_id,
        user_id=row.user_id,
        amount=Money(row.amount_minor, currency),
        status=PaymentStatus(row.status),
        payment_method=PaymentMethod(row.payment_method),
        payment_method_id=row.payment_method_id,
        stripe_payment_intent_id=row.stripe_payment_intent_id,
        stripe_charge_id=row.stripe_charge_id,
        client_secret=row.client_secret,
        receipt_url=row.receipt_url,
        attempts=row.attempts,
        captured=Money(row.captured_minor, currency),
        refunded=Money(row.refunded_minor, currency),
        failure_reason=row.failure_reason,
        error_code=row.error_code,
        decline_code=row.decline_code,
        cancel_reason=row.cancel_reason,
        # SQLite hands back naive datetimes; they were written in UTC.
        created_at=as_utc(row.created_at),
        status_changed_at=as_utc(row.status_changed_at),
    )


def next_order_id(conn: Connection) -> int:
    return int(conn.execute(insert(order_numbers)).inserted_primary_key[0])  # type: ignore[index]


def order_owner(conn: Connection, order_id: int) -> int | None:
    """The user whose checkout used ``order_id`` first, if any did."""
    owner = conn.execute(
        select(order_owners.c.user_id).where(order_owners.c.order_id == order_id)
    ).scalar()
    return None if owner is None else int(owner)


def own_order(conn: Connection, order_id: int, user_id: int) -> None:
    conn.execute(insert(order_owners).values(order_id=order_id, user_id=user_id))


def insert_payment(
    conn: Connection,
    *,
    order_id: int,
    user_id: int,
    amount: Money,
    payment_method: PaymentMethod,
    request_key: str | None,
    now: datetime,
) -> Payment:
    result = conn.execute(
        insert(payments).values(
            order_id=order_id,
            user_id=user_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            status=PaymentStatus.PENDING.value,
            payment_method=payment_method.value,
            attempts=0,
            captured_minor=0,
            refunded_minor=0,
            request_key=request_key,
            created_at=now,
            status_changed_at=now,
        )
    )
    payment_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    audit.record(
        conn, payment_id, None, PaymentStatus.PENDING, applied=True, cause="create-intent", now=now
    )
    return get(conn, payment_id)


def get(conn: Connection, payment_id: int) -> Payment:
    row = conn.execute(select(payments).where(payments.c.id == payment_id)).one_or_none()
    if row is None:
        raise PaymentNotFoundError(f"payment {payment_id} does not exist")
    return _payment(row)


def find(conn: Connection, payment_id: int) -> Payment | None:
    row = conn.execute(select(payments).where(payments.c.id == payment_id)).one_or_none()
    return None if row is None else _payment(row)


def all_payments(conn: Connection, limit: int) -> list[Payment]:
    rows = conn.execute(select(payments).order_by(payments.c.id).limit(limit))
    return [_payment(row) for row in rows]


def by_request_key(conn: Connection, request_key: str) -> Payment | None:
    row = conn.execute(select(payments).where(payments.c.request_key == request_key)).one_or_none()
    return None if row is None else _payment(row)


def by_intent(conn: Connection, intent_id: str) -> Payment | None:
    row = conn.execute(
        select(payments).where(payments.c.stripe_payment_intent_id == intent_id)
    ).one_or_none()
    return None if row is None else _payment(row)


def save(
    conn: Connection,
    before: Payment,
    after: Payment,
    cause: str,
    now: datetime,
    *,
    event_id: str | None = None,
) -> Payment:
    """Write the changed fields; a status change is stamped and added to the audit trail
    (with ``event_id``, the Stripe event that caused it, if one did)."""
    changed = after if after.status == before.status else replace(after, status_changed_at=now)
    conn.execute(
        update(payments)
        .where(payments.c.id == before.id)
        .values(
            status=changed.status.value,
            payment_method_id=changed.payment_method_id,
            stripe_payment_intent_id=changed.stripe_payment_intent_id,
            stripe_charge_id=changed.stripe_charge_id,
            client_secret=changed.client_secret,
            receipt_url=changed.receipt_url,
            attempts=changed.attempts,
            captured_minor=changed.captured.minor,
            refunded_minor=changed.refunded.minor,
            failure_reason=changed.failure_reason,
            error_code=changed.error_code,
            decline_code=changed.decline_code,
            cancel_reason=changed.cancel_reason,
            status_changed_at=changed.status_changed_at,
        )
    )
    audit.record_move(
        conn, before.id, before.status, changed.status, cause=cause, event_id=event_id, now=now
    )
    return changed


def history(conn: Connection, payment_id: int) -> list[dict[str, Any]]:
    """Every move offered to the payment, in the order it was recorded."""
    return [line.view() for line in audit.lines(conn, payment_id)]


def pending_refunds_minor(conn: Connection, payment_id: int) -> int:
    """Refunds asked for but not finished: reserved, so two requests cannot overdraw."""
    total = conn.execute(
        select(func.coalesce(func.sum(refunds.c.amount_minor), 0)).where(
            refunds.c.payment_id == payment_id, refunds.c.status == RefundStatus.PENDING.value
        )
    ).scalar_one()
    return int(total)


def status_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(payments.c.status, func.count()).group_by(payments.c.status))
    return {status: int(count) for status, count in rows}
