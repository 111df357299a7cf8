"""The order service's operations: customer and restaurant commands, saga steps, deadlines.

State, the events owed and the compensation asked for are written in one unit of work.
Refunds are asked for with ``payment-refund-initiated`` (through the outbox); cancelling
an uncaptured payment is an HTTP call made after the commit, written down as pending in
that unit of work and asked for again until answered (``payment_cancels``).
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
from paysim.services.order import payment_cancels
from paysim.services.order import repository as repo
from paysim.services.order.order_events import order_event
from paysim.services.order.payment_client import PaymentClient
from paysim.services.order.repository import Order, PendingCancel
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SOURCE = "order-service"
REFUND_FAILED = "REFUND_FAILED"
"""The compensation kind recording a refund Stripe refused for good."""
REASON_LIMIT = 64
"""A compensation's reason is a short code (the column's width)."""


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
        with self.reading() as conn:
            return repo.get(conn, order_id)

    def list_orders(self, status: str | None, limit: int) -> list[Order]:
        with self.reading() as conn:
            return repo.list_orders(conn, status, limit)

    def with_history(self, order_id: int) -> tuple[Order, list[dict[str, Any]]]:
        """The order and every move offered to it, read in one transaction."""
        with self.reading() as conn:
            return repo.get(conn, order_id), repo.history(conn, order_id)

    def compensations(self) -> list[dict[str, Any]]:
        with self.reading() as conn:
            return repo.compensation_list(conn)

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

    def note_refund_failure(
        self, uow: UnitOfWork, order: Order, *, reason: str, detail: str, amount_minor: int | None
    ) -> None:
        """Stripe refused the saga's refund for good: a REFUND_FAILED compensation, with
        Stripe's reason, for the operator who must act (``event_reactions`` moves the order)."""
        repo.record_compensation(
            uow.connection,
            order,
            kind=REFUND_FAILED,
            reason=reason[:REASON_LIMIT],
            amount=None if amount_minor is None else replace(order.total, minor=amount_minor),
            now=self.now(),
            detail=detail,
        )
        metrics.SAGA_REFUNDS_FAILED.inc()
        log.error(
            "refund of paymentId=%s for orderId=%s (%s) failed for good: %s; an operator must act",
            order.payment_id,
            order.order_id,
            order.status,
            detail,
        )

    def _note_compensation(
        self,
        uow: UnitOfWork,
        order: Order,
        kind: str,
        reason: str,
        amount_minor: int | None,
        *,
        pending: bool = False,
    ) -> int:
        """Write the compensation (``pending``: until answered, see ``payment_cancels``)."""
        now = self.now()
        compensation_id = repo.record_compensation(
            uow.connection,
            order,
            kind=kind,
            reason=reason,
            amount=None if amount_minor is None else replace(order.total, minor=amount_minor),
            now=now,
            retry_at=now + saga.cancel_retry_delay(0) if pending else None,
        )
        current = repo.get(uow.connection, order.order_id)
        self.move(uow, current, replace(current, compensated_at=now), cause="compensation")
        # After the commit: a batched consumer's rolled-back round runs this again.
        uow.after_commit(metrics.COMPENSATIONS.labels(kind, reason).inc)
        log.info(
            "compensation %s (%s) orderId=%s paymentId=%s",
            kind,
            reason,
            order.order_id,
            order.payment_id,
        )
        return compensation_id

    def _carry_out(
        self, uow: UnitOfWork, order: Order, command: Command | None, *, reason: str | None = None
    ) -> PendingCancel | None:
        """Write the compensation; returns a payment cancel to ask for after the commit
        (told ``reason``, else the compensation's), if any."""
        if isinstance(command, RefundPayment):
            self.request_refund(uow, order, command)
        elif isinstance(command, CancelPayment):
            compensation_id = self._note_compensation(
                uow, order, repo.CANCEL_PAYMENT, command.reason, None, pending=True
            )
            told = reason or command.reason
            return PendingCancel(compensation_id, order.order_id, command.payment_id, told, 0)
        return None

    def _cancel_payment(self, pending: PendingCancel | None) -> None:
        """Ask once now; unanswered, ``payment_cancels.retry_due`` asks again."""
        if pending is not None:
            payment_cancels.try_cancel(self, pending)

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
            to_cancel = self._carry_out(uow, moved, command, reason=reason)
        self._cancel_payment(to_cancel)
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
        with self.reading() as conn:
            candidates = repo.waiting(
                conn, set(self.deadlines.by_status()), now - self.deadlines.shortest
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
                to_cancel = self._carry_out(uow, order, command, reason="deadline passed")
            compensated += 1
            log.warning(
                "deadline passed for orderId=%s in %s: %s",
                order.order_id,
                overdue_in,
                type(command).__name__,
            )
            self._cancel_payment(to_cancel)
        return compensated
