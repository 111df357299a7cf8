"""Reading and writing deliveries and their timers on the caller's connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.domain.delivery_schedule import Timer
from paysim.domain.status import DeliveryStatus
from paysim.errors import PermanentError
from paysim.services.delivery.tables import deliveries, delivery_timers, delivery_transitions
from paysim.store.audit_trail import AuditTrail

audit = AuditTrail(delivery_transitions)
"""Every move offered to a delivery, applied or ignored, and why."""


class DeliveryNotFoundError(PermanentError):
    """No delivery for that order (or id)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery row, as the service reasons about it."""

    id: int
    order_id: int
    agent_id: str | None
    status: DeliveryStatus
    reason: str | None
    pickup_requested_at: datetime | None
    created_at: datetime
    status_changed_at: datetime


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=int(row.id),
        order_id=int(row.order_id),
        agent_id=row.agent_id,
        status=DeliveryStatus(row.status),
        reason=row.reason,
        pickup_requested_at=as_utc(row.pickup_requested_at) if row.pickup_requested_at else None,
        created_at=as_utc(row.created_at),
        status_changed_at=as_utc(row.status_changed_at),
    )


def insert_delivery(
    conn: Connection,
    *,
    order_id: int,
    agent_id: str | None,
    status: DeliveryStatus,
    reason: str | None,
    now: datetime,
) -> Delivery:
    result = conn.execute(
        insert(deliveries).values(
            order_id=order_id,
            agent_id=agent_id,
            status=status.value,
            reason=reason,
            created_at=now,
            status_changed_at=now,
        )
    )
    return get(conn, int(result.inserted_primary_key[0]))  # type: ignore[index]


def get(conn: Connection, delivery_id: int) -> Delivery:
    # FOR UPDATE (ignored by SQLite, whose BEGIN IMMEDIATE already serializes writers):
    # the consumer and the timer worker must not both move the same delivery.
    query = select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise DeliveryNotFoundError(f"delivery {delivery_id} does not exist")
    return _delivery(row)


def by_order(conn: Connection, order_id: int) -> Delivery | None:
    query = select(deliveries).where(deliveries.c.order_id == order_id).with_for_update()
    row = conn.execute(query).one_or_none()
    return None if row is None else _delivery(row)


def save_status(
    conn: Connection, delivery: Delivery, status: DeliveryStatus, now: datetime, reason: str | None
) -> Delivery:
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery.id)
        .values(status=status.value, status_changed_at=now, reason=reason or delivery.reason)
    )
    return get(conn, delivery.id)


def mark_pickup_requested(conn: Connection, delivery_id: int, now: datetime) -> None:
    conn.execute(
        update(deliveries).where(deliveries.c.id == delivery_id).values(pickup_requested_at=now)
    )


def set_timer(conn: Connection, delivery_id: int, timer: Timer) -> None:
    """Make ``timer`` the delivery's one pending step (replacing any other)."""
    drop_timer(conn, delivery_id)
    conn.execute(
        insert(delivery_timers).values(
            delivery_id=delivery_id, next_status=timer.next_status.value, due_at=timer.due_at
        )
    )


def drop_timer(conn: Connection, delivery_id: int) -> None:
    conn.execute(delete(delivery_timers).where(delivery_timers.c.delivery_id == delivery_id))


def timer_of(conn: Connection, delivery_id: int) -> Timer | None:
    row = conn.execute(
        select(delivery_timers).where(delivery_timers.c.delivery_id == delivery_id)
    ).one_or_none()
    if row is None:
        return None
    return Timer(DeliveryStatus(row.next_status), as_utc(row.due_at))


def due_timers(conn: Connection, now: datetime, limit: int) -> list[int]:
    """Deliveries whose next step is due at ``now``, the longest overdue first."""
    query = (
        select(delivery_timers.c.delivery_id)
        .where(delivery_timers.c.due_at <= now)
        .order_by(delivery_timers.c.due_at, delivery_timers.c.delivery_id)
        .limit(limit)
    )
    return [int(r.delivery_id) for r in conn.execute(query)]


def pending_timers(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(delivery_timers)).scalar_one())
