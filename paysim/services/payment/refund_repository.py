"""Refund rows: one per logical refund request, the ledger of what was asked and done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.domain.money import Money
from paysim.domain.status import RefundStatus
from paysim.services.payment.tables import refunds


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    payment_id: int
    request_id: str
    amount: Money
    status: RefundStatus
    reason: str | None
    stripe_refund_id: str | None
    created_at: datetime
    request_fingerprint: str | None = None
    failure_reason: str | None = None
    error_code: str | None = None


def _refund(row: Any, currency: str) -> Refund:
    return Refund(
        id=row.id,
        payment_id=row.payment_id,
        request_id=row.request_id,
        amount=Money(row.amount_minor, currency),
        status=RefundStatus(row.status),
        reason=row.reason,
        stripe_refund_id=row.stripe_refund_id,
        created_at=as_utc(row.created_at),
        request_fingerprint=row.request_fingerprint,
        failure_reason=row.failure_reason,
        error_code=row.error_code,
    )


def by_request(conn: Connection, payment_id: int, request_id: str, currency: str) -> Refund | None:
    """This payment's refund named ``request_id`` (another payment's of that name is not)."""
    row = conn.execute(
        select(refunds).where(
            refunds.c.payment_id == payment_id, refunds.c.request_id == request_id
        )
    ).one_or_none()
    return None if row is None else _refund(row, currency)


def of_payment(conn: Connection, payment_id: int, currency: str) -> list[Refund]:
    rows = conn.execute(
        select(refunds).where(refunds.c.payment_id == payment_id).order_by(refunds.c.id)
    )
    return [_refund(row, currency) for row in rows]


def add(
    conn: Connection,
    *,
    payment_id: int,
    request_id: str,
    amount: Money,
    reason: str | None,
    request_fingerprint: str | None,
    now: datetime,
) -> Refund:
    conn.execute(
        insert(refunds).values(
            payment_id=payment_id,
            request_id=request_id,
            request_fingerprint=request_fingerprint,
            amount_minor=amount.minor,
            status=RefundStatus.PENDING.value,
            reason=reason,
            created_at=now,
        )
    )
    found = by_request(conn, payment_id, request_id, amount.currency)
    assert found is not None
    return found


def finish(
    conn: Connection,
    refund_id: int,
    status: RefundStatus,
    stripe_refund_id: str | None,
    now: datetime,
) -> None:
    conn.execute(
        update(refunds)
        .where(refunds.c.id == refund_id)
        .values(status=status.value, stripe_refund_id=stripe_refund_id, completed_at=now)
    )


def fail(conn: Connection, refund_id: int, reason: str, code: str | None, now: datetime) -> None:
    """Stripe refused the refund for good: FAILED, with Stripe's reason and code."""
    conn.execute(
        update(refunds)
        .where(refunds.c.id == refund_id)
        .values(
            status=RefundStatus.FAILED.value,
            failure_reason=reason,
            error_code=code,
            completed_at=now,
        )
    )


def stuck(conn: Connection, older_than: datetime) -> list[tuple[int, str]]:
    """(payment_id, request_id) of refunds still PENDING since before ``older_than``."""
    rows = conn.execute(
        select(refunds.c.payment_id, refunds.c.request_id).where(
            refunds.c.status == RefundStatus.PENDING.value, refunds.c.created_at < older_than
        )
    )
    return [(int(r.payment_id), str(r.request_id)) for r in rows]
