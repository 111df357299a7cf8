"""Reading and writing orders on the caller's connection (inside its unit of work)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.domain.money import Money
from paysim.domain.saga import PaymentRef
from paysim.domain.status import OrderStatus
from paysim.errors import PermanentError
from paysim.services.order.tables import compensations, order_transitions, orders
from paysim.store.audit_trail import AuditTrail

audit = AuditTrail(order_transitions)
"""Every move offered to an order, applied or ignored, and why."""


class OrderNotFoundError(PermanentError):
    """No order with that id."""


@dataclass(frozen=True, slots=True)
class Order:
    """An order row, as the service reasons about it."""

    order_id: int
    user_id: int | None
    payment_id: int | None
    payment_attempt: int | None
    total: Money
    status: OrderStatus
    captured: Money
    refunded: Money
    reason: str | None
    created_at: datetime
    status_changed_at: datetime
    compensated_at: datetime | None

    def payment_ref(self) -> PaymentRef | None:
        if self.payment_id is None:
            return None
        return PaymentRef(self.payment_id, self.order_id, self.captured, self.refunded)


def _order(row: Any) -> Order:
    return Order(
        order_id=row.order_id,
        user_id=row.user_id,
        payment_id=row.payment_id,
        payment_attempt=row.payment_attempt,
        total=Money(row.total_minor, row.currency),
        status=OrderStatus(row.status),
        captured=Money(row.captured_minor, row.currency),
        refunded=Money(row.refunded_minor, row.currency),
        reason=row.reason,
        # SQLite hands back naive datetimes; they were written in UTC.
        created_at=as_utc(row.created_at),
        status_changed_at=as_utc(row.status_changed_at),
        compensated_at=as_utc(row.compensated_at) if row.compensated_at else None,
    )


def _changeable(order: Order) -> dict[str, Any]:
    """The order's columns but its id and creation time: what ``save`` may write again."""
    return {
        "user_id": order.user_id,
        "payment_id": order.payment_id,
        "payment_attempt": order.payment_attempt,
        # A new payment for a declined order may ask a different amount.
        "total_minor": order.total.minor,
        "currency": order.total.currency,
        "status": order.status.value,
        "captured_minor": order.captured.minor,
        "refunded_minor": order.refunded.minor,
        "reason": order.reason,
        "status_changed_at": order.status_changed_at,
        "compensated_at": order.compensated_at,
    }


# The consumer's hot statements, built once with their values as parameters: building
# them per event (coercing each value, then hashing for the compiled cache) cost more CPU
# than running them.
_FIND = select(orders).where(orders.c.order_id == bindparam("order_key"))
_INSERT = insert(orders)
_UPDATE = update(orders).where(orders.c.order_id == bindparam("order_key"))


def find(conn: Connection, order_id: int) -> Order | None:
    row = conn.execute(_FIND, {"order_key": order_id}).one_or_none()
    return None if row is None else _order(row)


def get(conn: Connection, order_id: int) -> Order:
    order = find(conn, order_id)
    if order is None:
        raise OrderNotFoundError(f"order {order_id} does not exist")
    return order


def list_orders(conn: Connection, status: str | None, limit: int) -> list[Order]:
    """Orders by id, only those in ``status`` if given, at most ``limit``: one query."""
    query = select(orders).order_by(orders.c.order_id).limit(limit)
    if status:
        query = query.where(orders.c.status == status)
    return [_order(row) for row in conn.execute(query)]


def insert_order(conn: Connection, order: Order, *, cause: str, event_id: str | None) -> Order:
    conn.execute(
        _INSERT,
        {"order_id": order.order_id, "created_at": order.created_at, **_changeable(order)},
    )
    audit.record(
        conn,
        order.order_id,
        None,
        order.status,
        applied=True,
        cause=cause,
        event_id=event_id,
        now=order.created_at,
    )
    return order


def save(
    conn: Connection,
    before: Order,
    after: Order,
    *,
    cause: str,
    event_id: str | None,
    now: datetime,
) -> Order:
    """Write the changed fields; a status change is stamped and added to the audit trail."""
    changed = after if after.status == before.status else replace(after, status_changed_at=now)
    conn.execute(_UPDATE, {"order_key": before.order_id, **_changeable(changed)})
    audit.record_move(
        conn,
        before.order_id,
        before.status,
        changed.status,
        cause=cause,
        event_id=event_id,
        now=now,
    )
    return changed


CANCEL_PAYMENT = "CANCEL_PAYMENT"
DETAIL_LIMIT = 500
"""Characters of a compensation's detail kept (an answer's text can be any length)."""


@dataclass(frozen=True, slots=True)
class PendingCancel:
    """A payment cancel the saga asked for that the payment service has not answered."""

    compensation_id: int
    order_id: int
    payment_id: int
    reason: str
    tries: int


def record_compensation(
    conn: Connection,
    order: Order,
    *,
    kind: str,
    reason: str,
    amount: Money | None,
    now: datetime,
    detail: str | None = None,
    retry_at: datetime | None = None,
) -> int:
    """Write a compensation; with ``retry_at`` it is pending (asked again from then on)
    until settled, else settled at once. Returns its id."""
    result = conn.execute(
        insert(compensations).values(
            order_id=order.order_id,
            payment_id=order.payment_id,
            kind=kind,
            reason=reason,
            amount_minor=amount.minor if amount else None,
            at=now,
            detail=None if detail is None else detail[:DETAIL_LIMIT],
            settled_at=None if retry_at is not None else now,
            retry_at=retry_at,
            tries=0,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def pending_cancel(conn: Connection, compensation_id: int) -> PendingCancel | None:
    """The payment cancel ``compensation_id`` if it is still unanswered."""
    row = conn.execute(
        select(compensations).where(
            compensations.c.id == compensation_id, compensations.c.settled_at.is_(None)
        )
    ).one_or_none()
    return None if row is None else _pending(row)


def due_cancels(conn: Connection, now: datetime, limit: int) -> list[PendingCancel]:
    """Unanswered payment cancels whose next try is due, oldest first."""
    rows = conn.execute(
        select(compensations)
        .where(
            compensations.c.kind == CANCEL_PAYMENT,
            compensations.c.settled_at.is_(None),
            compensations.c.retry_at <= now,
        )
        .order_by(compensations.c.retry_at, compensations.c.id)
        .limit(limit)
    )
    return [_pending(row) for row in rows]


def _pending(row: Any) -> PendingCancel:
    return PendingCancel(row.id, row.order_id, row.payment_id, row.reason, row.tries)


def settle_cancels(conn: Connection, tried: PendingCancel, *, detail: str, now: datetime) -> None:
    """The payment service answered: every unanswered cancel of that payment is settled."""
    conn.execute(
        update(compensations)
        .where(
            compensations.c.kind == CANCEL_PAYMENT,
            compensations.c.payment_id == tried.payment_id,
            compensations.c.settled_at.is_(None),
        )
        .values(
            settled_at=now,
            retry_at=None,
            detail=detail[:DETAIL_LIMIT],
            tries=compensations.c.tries
            + case((compensations.c.id == tried.compensation_id, 1), else_=0),
        )
    )


def postpone_cancel(
    conn: Connection, tried: PendingCancel, *, detail: str, retry_at: datetime
) -> None:
    """No answer: one more try counted, and the next one scheduled."""
    conn.execute(
        update(compensations)
        .where(compensations.c.id == tried.compensation_id)
        .values(tries=compensations.c.tries + 1, retry_at=retry_at, detail=detail[:DETAIL_LIMIT])
    )


def history(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    return [line.view() for line in audit.lines(conn, order_id)]


def waiting(conn: Connection, statuses: set[OrderStatus], before: datetime) -> list[Order]:
    """Orders in a waiting status that have not moved (nor been compensated) since ``before``."""
    rows = conn.execute(
        select(orders).where(
            orders.c.status.in_([s.value for s in statuses]),
            orders.c.status_changed_at < before,
            or_(orders.c.compensated_at.is_(None), orders.c.compensated_at < before),
        )
    )
    return [_order(r) for r in rows]


def status_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(orders.c.status, func.count()).group_by(orders.c.status))
    return {status: int(count) for status, count in rows}


def compensation_list(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    rows = conn.execute(select(compensations).order_by(compensations.c.id.desc()).limit(limit))
    return [
        {
            "orderId": r.order_id,
            "paymentId": r.payment_id,
            "kind": r.kind,
            "reason": r.reason,
            "amountMinor": r.amount_minor,
            "at": as_utc(r.at).isoformat(),
            "detail": r.detail,
            "settledAt": as_utc(r.settled_at).isoformat() if r.settled_at else None,
            "tries": r.tries,
        }
        for r in rows
    ]
