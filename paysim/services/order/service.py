"""The order service's operations: customer and restaurant commands, saga steps, deadlines.

State, the events owed and the compensation asked for are written in one unit of work.
Refunds are asked for with ``payment-refund-initiated`` (through the outbox); cancelling
an uncaptured payment is an HTTP call made after the commit, and if it fails the
deadline sweep asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine

from paysim import metrics
from paysim.domain import saga
from paysim.domain.clock import utc_now
from paysim.domain.commands import CancelPayment, Command, RefundPayment
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.order_state import (
    RESTAURANT_MOVE_TARGETS,
    RestaurantMove,
    cancel_order,
    move_order,
    order_event_on_enter,
)
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.services.change_waiters import ChangeWaiters
from paysim.services.faults import FaultPoints
from paysim.services.order import repository as repo
from paysim.services.order.order_events import order_event
from paysim.services.order.payment_client import PaymentClient
from paysim.services.order.repository import Order
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SOURCE = "order-service"


class OrderService(TransactionalService):
    """Orders, moved by commands here and by events in ``event_reactions``."""

    def __init__(
        self,
        engine: Engine,
        payments: PaymentClient,
        faults: FaultPoints,
        *,
        deadlines: saga.Deadlines = saga.DEFAULT_DEADLINES,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(engine, clock=clock)
        self.payments = payments
        self.faults = faults
        self.deadlines = deadlines
        self.changes = ChangeWaiters()
        """Requests waiting for an order to change; told after each commit that does."""

    def get(self, order_id: int) -> Order:
        with self.uow() as uow:
            return repo.get(uow.connection, order_id)

    def list_orders(self, status: str | None, limit: int) -> list[Order]:
        with self.uow() as uow:
            return repo.list_orders(uow.connection, status, limit)

    def with_history(self, order_id: int) -> tuple[Order, list[dict[str, Any]]]:
        """The order and every move offered to it, read in one transaction."""
        with self.uow() as uow:
            return repo.get(uow.connection, order_id), repo.history(uow.connection, order_id)

    def compensations(self) -> list[dict[str, Any]]:
        with self.uow() as uow:
            return repo.compensation_list(uow.connection)

    # -- moves shared by commands and event reactions ---------------------------------

    def move(
        self,
        uow: UnitOfWork,
        before: Order,
        after: Order,
        *,
        cause: str,
        event_id: str | None = None,
    ) -> Order:
        """Save ``after``; entering a new status publishes the event it owes, if any.

        The one way an order is changed (``repo.save`` is not called elsewhere), so no
        status change can leave its event unowed.
        """
        moved = repo.save(
            uow.connection, before, after, cause=cause, event_id=event_id, now=self.now()
        )
        event_type = order_event_on_enter(after.status) if after.status != before.status else None
        if event_type is not None:
            uow.outbox.add(order_event(moved, event_type, previous=before.status))
        uow.after_commit(partial(self.changes.notify, moved.order_id))
        return moved

    def create(self, uow: UnitOfWork, order: Order, *, cause: str, event_id: str | None) -> Order:
        """Save a new order (an event was the first news of it); it publishes nothing."""
        created = repo.insert_order(uow.connection, order, cause=cause, event_id=event_id)
        uow.after_commit(partial(self.changes.notify, created.order_id))
        return created

    def request_refund(self, uow: UnitOfWork, order: Order, command: RefundPayment) -> None:
        """Ask the payment service for a refund: one event, written with the state change."""
        uow.outbox.add(
            PaymentEvent(
                event_type=PaymentEventType.PAYMENT_REFUND_INITIATED,
                source=SOURCE,
                order_id=order.order_id,
                payment_id=command.payment_id,
                user_id=order.user_id,
                amount_minor=order.captured.minor,
                currency=order.total.currency,
                status=PaymentStatus.REFUND_PENDING,
                refund_amount_minor=command.amount.minor,
                refund_reason=command.reason,
                refund_request_id=command.request_id,
            )
        )
        self._note_compensation(uow, order, "REFUND", command.reason, command.amount.minor)

    def _note_compensation(
        self, uow: UnitOfWork, order: Order, kind: str, reason: str, amount_minor: int | None
    ) -> None:
        now = self.now()
        repo.record_compensation(
            uow.connection,
            order,
            kind=kind,
            reason=reason,
            amount=None if amount_minor is None else replace(order.total, minor=amount_minor),
            now=now,
        )
        current = repo.get(uow.connection, order.order_id)
        self.move(uow, current, replace(current, compensated_at=now), cause="compensation")
        metrics.COMPENSATIONS.labels(kind, reason).inc()
        log.info(
            "compensation %s (%s) orderId=%s paymentId=%s",
            kind,
            reason,
            order.order_id,
            order.payment_id,
        )

    def _carry_out(self, uow: UnitOfWork, order: Order, command: Command | None) -> int | None:
        """Write the compensation; returns a payment to cancel after the commit, if any."""
        if isinstance(command, RefundPayment):
            self.request_refund(uow, order, command)
        elif isinstance(command, CancelPayment):
            self._note_compensation(uow, order, "CANCEL_PAYMENT", command.reason, None)
            return command.payment_id
        return None

    def _cancel_payment(self, payment_id: int | None, reason: str) -> None:
        if payment_id is None:
            return
        try:
            self.payments.cancel(payment_id, reason)
        except Exception:
            # The deadline sweep asks again; the order is already where it must be.
            log.exception(
                "cancel of paymentId=%s failed; the deadline sweep will retry", payment_id
            )

    # -- commands -------------------------------------------------------------------------

    def cancel(self, order_id: int, reason: str) -> Order:
        """A customer's cancel: unpaid -> CANCELLED and the payment cancelled; paid and
        undelivered -> CANCELLING and a refund asked for."""
        with self.uow() as uow:
            order = repo.get(uow.connection, order_id)
            target = cancel_order(order.status)
            ref = order.payment_ref()
            command = saga.on_customer_cancel(order.status, ref) if ref else None
            moved = self.move(
                uow, order, replace(order, status=target, reason=reason), cause="customer cancel"
            )
            to_cancel = self._carry_out(uow, moved, command)
        self._cancel_payment(to_cancel, reason)
        return moved

    def restaurant(self, order_id: int, decision: RestaurantMove, reason: str | None) -> Order:
        """The restaurant accepts, prepares, has it ready, or rejects (a refund)."""
        target = RESTAURANT_MOVE_TARGETS[decision]
        with self.uow() as uow:
            order = repo.get(uow.connection, order_id)
            move_order(order.status, target)
            moved = self.move(
                uow,
                order,
                replace(order, status=target, reason=reason),
                cause=f"restaurant {decision.value.lower()}",
            )
            if decision is RestaurantMove.REJECT and (ref := order.payment_ref()):
                self._carry_out(uow, moved, saga.on_restaurant_rejected(order.status, ref))
        return moved

    # -- deadlines ----------------------------------------------------------------------------

    def sweep_deadlines(self) -> int:
        """Compensate orders stuck past their deadline; returns how many were."""
        now = self.now()
        with self.uow() as uow:
            candidates = repo.waiting(
                uow.connection, set(self.deadlines.by_status()), now - self.deadlines.shortest
            )
        compensated = 0
        for candidate in candidates:
            with self.uow() as uow:
                order = repo.get(uow.connection, candidate.order_id)
                ref = order.payment_ref()
                since = max(order.status_changed_at, order.compensated_at or order.created_at)
                command = (
                    saga.overdue(order.status, since, now, ref, self.deadlines) if ref else None
                )
                if command is None:
                    continue
                overdue_in = order.status
                if overdue_in is OrderStatus.PENDING:
                    # The restaurant never answered: rejected on its behalf, as it would be.
                    order = self.move(
                        uow,
                        order,
                        replace(
                            order,
                            status=RESTAURANT_MOVE_TARGETS[RestaurantMove.REJECT],
                            reason="the restaurant did not accept the order within "
                            f"{self.deadlines.restaurant_accept.total_seconds():g} s",
                        ),
                        cause="restaurant deadline",
                    )
                to_cancel = self._carry_out(uow, order, command)
            compensated += 1
            log.warning(
                "deadline passed for orderId=%s in %s: %s",
                order.order_id,
                overdue_in,
                type(command).__name__,
            )
            self._cancel_payment(to_cancel, "deadline passed")
        return compensated
