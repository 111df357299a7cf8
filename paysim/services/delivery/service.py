"""The delivery service's operations: assign a courier, schedule the pickup, cancel, and
move each courier run forward when its timer is due.

Each operation is one unit of work: the consumed event's tracking row, the delivery's
new state and audit line, the events it owes (outbox) and its timer row are committed
together or not at all. Timers live in the database, so a restarted process resumes
every run where it stopped.

The three order topics are consumed by one consumer, but Kafka orders records only
within a partition of one topic, so one order's ``order-created``,
``order-ready-for-pickup`` and ``order-cancelled`` may be handled in any order:

* ready-for-pickup before order-created: the courier is assigned right then (and the
  pickup scheduled). Not retried instead: the consumer's retry budget (well under a
  second) cannot wait out a lagging topic, and the pickup request says all a delivery
  needs. The late order-created finds the delivery and is recorded as ignored.
* order-cancelled before order-created (or for an order never paid, which never has
  one): the delivery is recorded as CANCELLED with no courier and no event, since
  nobody was assigned, so that a late order-created cannot send a courier after all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from paysim.domain.clock import utc_now
from paysim.domain.delivery_schedule import CourierSimulation, Timer
from paysim.domain.delivery_state import (
    DELIVERY_EVENT_ON_ENTER,
    apply_delivery_event,
    pickup_refusal,
)
from paysim.domain.events import DeliveryEvent, OrderEvent
from paysim.domain.status import DeliveryStatus
from paysim.services.delivery import repository as repo
from paysim.services.delivery.repository import Delivery, DeliveryNotFoundError
from paysim.store.audit_trail import TransitionRow
from paysim.store.outbox import Outbox
from paysim.store.tracked import tracked
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

GROUP = "delivery-service"


@dataclass(frozen=True, slots=True)
class DeliveryDetails:
    """A delivery with its pending step and its audit trail (for the HTTP API)."""

    delivery: Delivery
    next_step: Timer | None
    history: list[TransitionRow]


class DeliveryService(TransactionalService):
    """Simulated couriers: state, events and timers committed together."""

    def __init__(
        self,
        engine: Engine,
        simulation: CourierSimulation,
        *,
        group: str = GROUP,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(engine, clock=clock)
        self._simulation = simulation
        self._group = group

    def assign_courier(self, event: OrderEvent) -> None:
        """ORDER_CREATED: one delivery per order, with its seeded courier."""
        tracked(self.uow, self._group, self._assign_courier)(event)

    def request_pickup(self, event: OrderEvent) -> None:
        """ORDER_READY_FOR_PICKUP: the courier comes for the food; the run starts."""
        scheduled = tracked(self.uow, self._group, self._schedule_pickup)(event)
        if scheduled is not None:
            delivery, timer = scheduled
            _log("pickup scheduled at %s", event, delivery, timer.due_at.isoformat())

    def cancel(self, event: OrderEvent) -> None:
        """ORDER_CANCELLED: stop a courier who has not delivered yet."""
        cancelled = tracked(self.uow, self._group, self._stop_courier)(event)
        if cancelled is not None:
            _log("courier stopped", event, cancelled)

    def _assign_courier(self, uow: UnitOfWork, event: OrderEvent) -> None:
        existing = repo.by_order(uow.connection, event.order_id)
        if existing is not None:
            note = f"the order has a delivery already ({existing.status})"
            self._ignored(uow, existing, DeliveryStatus.ASSIGNED, event, note)
            return
        self._assign(uow, event, "order-created")

    def _schedule_pickup(self, uow: UnitOfWork, event: OrderEvent) -> tuple[Delivery, Timer] | None:
        """The delivery and its first timer; None if the pickup request is ignored."""
        delivery = repo.by_order(uow.connection, event.order_id)
        if delivery is None:
            delivery = self._assign(uow, event, "ready-for-pickup before order-created")
        refusal = pickup_refusal(delivery.status, delivery.pickup_requested_at is not None)
        if refusal is not None:
            self._ignored(uow, delivery, DeliveryStatus.PICKED_UP, event, refusal)
            return None
        now = self._clock()
        timer = self._simulation.pickup_timer(delivery.order_id, now)
        repo.mark_pickup_requested(uow.connection, delivery.id, now)
        repo.set_timer(uow.connection, delivery.id, timer)
        return delivery, timer

    def _stop_courier(self, uow: UnitOfWork, event: OrderEvent) -> Delivery | None:
        """The cancelled delivery; None if there was none to stop (or it was too late)."""
        reason = event.reason or "order cancelled"
        conn = uow.connection
        delivery = repo.by_order(conn, event.order_id)
        if delivery is None:
            tombstone = repo.insert_delivery(
                conn,
                order_id=event.order_id,
                agent_id=None,
                status=DeliveryStatus.CANCELLED,
                reason=f"cancelled before a courier was assigned: {reason}",
                now=self._clock(),
            )
            self._audit(
                uow,
                tombstone,
                DeliveryStatus.CANCELLED,
                cause="order-cancelled",
                event=event,
                created=True,
            )
            _log("cancelled before any courier was assigned", event, tombstone)
            return None
        transition = apply_delivery_event(delivery.status, DeliveryStatus.CANCELLED)
        if not transition.applied:
            self._ignored(uow, delivery, DeliveryStatus.CANCELLED, event, transition.reason)
            return None
        repo.drop_timer(conn, delivery.id)
        return self._move(
            uow,
            delivery,
            DeliveryStatus.CANCELLED,
            cause="order-cancelled",
            event=event,
            reason=reason,
        )

    def advance_due(self, limit: int = 100) -> int:
        """Take every courier step that is due now; returns how many timers fired."""
        with self.reading() as conn:
            due = repo.due_timers(conn, self._clock(), limit)
        for delivery_id in due:
            try:
                self._advance(delivery_id)
            except Exception:
                # Rolled back, so the timer is still due and is tried again next round;
                # the other runs go on meanwhile.
                log.exception("courier step of deliveryId=%s failed", delivery_id)
        return len(due)

    def _advance(self, delivery_id: int) -> None:
        with self.uow() as uow:
            conn = uow.connection
            now = self._clock()
            delivery = repo.get(conn, delivery_id)
            timer = repo.timer_of(conn, delivery_id)
            if timer is None or timer.due_at > now:
                return  # cancelled or rescheduled since it was seen due
            repo.drop_timer(conn, delivery_id)
            transition = apply_delivery_event(delivery.status, timer.next_status)
            if not transition.applied:
                self._ignored(uow, delivery, timer.next_status, None, transition.reason)
                return
            moved = self._move(uow, delivery, timer.next_status, cause="courier")
            following = self._simulation.timer_after(moved.order_id, moved.status, now)
            if following is not None:
                repo.set_timer(conn, delivery_id, following)
        log.info(
            "courier step %s deliveryId=%s orderId=%s agentId=%s",
            moved.status,
            moved.id,
            moved.order_id,
            moved.agent_id,
            extra={"orderId": moved.order_id, "deliveryId": moved.id},
        )

    def details(self, order_id: int) -> DeliveryDetails:
        with self.reading() as conn:
            delivery = repo.by_order(conn, order_id)
            if delivery is None:
                raise DeliveryNotFoundError(f"no delivery for order {order_id}")
            return DeliveryDetails(
                delivery, repo.timer_of(conn, delivery.id), repo.audit.lines(conn, delivery.id)
            )

    def backlog(self) -> tuple[int, int]:
        """(outbox rows unpublished, courier steps pending), for the gauges."""
        with self.reading() as conn:
            return Outbox(conn).backlog(), repo.pending_timers(conn)

    def _assign(self, uow: UnitOfWork, event: OrderEvent, cause: str) -> Delivery:
        agent = self._simulation.agent_for(event.order_id)
        delivery = repo.insert_delivery(
            uow.connection,
            order_id=event.order_id,
            agent_id=agent,
            status=DeliveryStatus.ASSIGNED,
            reason=None,
            now=self._clock(),
        )
        self._audit(uow, delivery, DeliveryStatus.ASSIGNED, cause=cause, event=event, created=True)
        uow.outbox.add(self._event(delivery, None, None))
        _log("courier assigned", event, delivery)
        return delivery

    def _move(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        target: DeliveryStatus,
        *,
        cause: str,
        event: OrderEvent | None = None,
        reason: str | None = None,
    ) -> Delivery:
        moved = repo.save_status(uow.connection, delivery, target, self._clock(), reason)
        self._audit(uow, delivery, target, cause=cause, event=event)
        uow.outbox.add(self._event(moved, delivery.status, reason))
        return moved

    def _ignored(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        target: DeliveryStatus,
        event: OrderEvent | None,
        note: str,
    ) -> None:
        cause = event.event_type.value if event else "courier"
        self._audit(uow, delivery, target, cause=cause, event=event, note=note, applied=False)
        log.info(
            "ignored %s for deliveryId=%s orderId=%s: %s eventId=%s",
            target,
            delivery.id,
            delivery.order_id,
            note,
            event.event_id if event else None,
            extra={"orderId": delivery.order_id, "eventId": str(event.event_id) if event else None},
        )

    def _audit(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        to_status: DeliveryStatus,
        *,
        cause: str,
        event: OrderEvent | None,
        note: str | None = None,
        applied: bool = True,
        created: bool = False,
    ) -> None:
        """One audit line; ``created``: the delivery came into being with this move."""
        repo.audit.record(
            uow.connection,
            delivery.id,
            None if created else delivery.status,
            to_status,
            applied=applied,
            cause=cause,
            event_id=str(event.event_id) if event else None,
            note=note,
            now=self._clock(),
        )

    def _event(
        self, delivery: Delivery, previous: DeliveryStatus | None, reason: str | None
    ) -> DeliveryEvent:
        return DeliveryEvent(
            event_type=DELIVERY_EVENT_ON_ENTER[delivery.status],
            timestamp=self._clock(),
            order_id=delivery.order_id,
            delivery_id=delivery.id,
            agent_id=delivery.agent_id,
            status=delivery.status,
            previous_status=previous,
            reason=reason,
        )


def _log(what: str, event: OrderEvent, delivery: Delivery, *args: object) -> None:
    log.info(
        f"{what} deliveryId=%s orderId=%s agentId=%s eventId=%s",
        *args,
        delivery.id,
        delivery.order_id,
        delivery.agent_id,
        event.event_id,
        extra={"orderId": delivery.order_id, "eventId": str(event.event_id)},
    )
