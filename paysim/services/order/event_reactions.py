"""How an order reacts to payment and delivery events (the plan's PaymentEventConsumer).

The order service reads the catch-all topics ``payment-events`` and ``delivery-events``
rather than one topic per event type: keyed by orderId, a catch-all keeps one order's
events in the order they happened (INITIATED before COMPLETED), which separate topics
cannot promise. Each event is handled in one unit of work together with its tracking
row, so a redelivered or duplicated event changes nothing; an event that would move the
order backwards is recorded in the audit trail and ignored.

PAYMENT_REFUND_FAILED of the saga's own refund (its ``compensation_request_id``) means
Stripe refused to give the money back, for good: a CANCELLING order moves to
REFUND_FAILED, where no deadline asks again, and the refusal is recorded as a
REFUND_FAILED compensation with Stripe's reason, for the operator who must act. An
order that is not CANCELLING (CANCELLED when its payment was captured anyway) keeps
its status; the compensation row and the audit trail record the failure all the same.
The failure of a refund someone else asked for (a partial refund through the payment
API) leaves the order be.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.domain import saga
from paysim.domain.commands import RefundPayment, compensation_request_id
from paysim.domain.events import AnyEvent, DeliveryEvent, PaymentEvent, PaymentEventType
from paysim.domain.money import Money
from paysim.domain.order_state import PAID, UNPAID, apply_order_event, order_target, refund_path
from paysim.domain.status import OrderStatus
from paysim.errors import PermanentError
from paysim.services.order import repository as repo
from paysim.services.order.repository import DETAIL_LIMIT, Order
from paysim.services.order.service import OrderService
from paysim.store.tracked import tracked
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

GROUP = "order-service"
TOPICS = ("payment-events", "delivery-events")

REFUNDED_OUTSIDE = "refunded in full through the payment service"


def order_handler(service: OrderService, group: str = GROUP) -> Handler:
    """The consumer's handler: fault point, then the reaction with its tracking row."""

    def react(uow: UnitOfWork, event: AnyEvent) -> None:
        if isinstance(event, PaymentEvent):
            on_payment_event(service, uow, event)
        elif isinstance(event, DeliveryEvent):
            on_delivery_event(service, uow, event)

    react_once = tracked(service.uow, group, react)

    def handle(event: AnyEvent, _record: Record) -> None:
        service.faults.check("handle", event.order_id)
        react_once(event)

    return handle


def _ignored(
    service: OrderService,
    uow: UnitOfWork,
    order: Order,
    event: PaymentEvent | DeliveryEvent,
    *,
    target: OrderStatus,
    note: str,
) -> None:
    """Record in the audit trail an event that leaves the order where it is, and why."""
    repo.audit.record(
        uow.connection,
        order.order_id,
        order.status,
        target,
        applied=False,
        cause=event.event_type.value,
        note=note[:DETAIL_LIMIT],
        event_id=str(event.event_id),
        now=service.now(),
    )


def _offer(
    service: OrderService,
    uow: UnitOfWork,
    order: Order,
    after: Order,
    *,
    event: PaymentEvent | DeliveryEvent,
    attempt: int | None = None,
) -> Order:
    """Offer an event's outcome (``after``): applied if it moves the order forward."""
    target = after.status
    transition = apply_order_event(
        order.status,
        target,
        event_attempt=attempt,
        current_attempt=order.payment_attempt if attempt else None,
    )
    if not transition.applied:
        _ignored(service, uow, order, event, target=target, note=transition.reason)
        return order
    if attempt is not None:
        after = replace(after, payment_attempt=max(attempt, order.payment_attempt or 0))
    return service.move(
        uow, order, after, cause=event.event_type.value, event_id=str(event.event_id)
    )


def on_payment_event(service: OrderService, uow: UnitOfWork, event: PaymentEvent) -> None:
    order = repo.find(uow.connection, event.order_id)
    kind = event.event_type
    if kind is PaymentEventType.PAYMENT_INITIATED:
        _on_initiated(service, uow, order, event)
    elif kind is PaymentEventType.PAYMENT_COMPLETED:
        _on_completed(service, uow, order, event)
    elif order is None:
        log.info("%s for unknown orderId=%s ignored", kind, event.order_id)
    elif event.payment_id != order.payment_id:
        note = f"payment {event.payment_id} is not the order's"
        _ignored(service, uow, order, event, target=order.status, note=note)
    elif kind is PaymentEventType.PAYMENT_REFUNDED:
        refunded = order.refunded + Money(event.refund_amount_minor or 0, order.total.currency)
        target = order_target(kind, payment_status=event.status)
        if target is None:  # partial: the order goes on, the money is noted
            service.move(
                uow,
                order,
                replace(order, refunded=refunded),
                cause="partial refund",
                event_id=str(event.event_id),
            )
        else:
            # Not asked for by the saga (which cancels first): refunded by the payment API
            # (by an operator, for an order whose own refund failed).
            asked = order.status in {OrderStatus.CANCELLING, OrderStatus.REFUND_FAILED}
            reason = order.reason if asked else REFUNDED_OUTSIDE
            for step in refund_path(order.status):
                order = _offer(
                    service,
                    uow,
                    order,
                    replace(order, status=step, refunded=refunded, reason=reason),
                    event=event,
                )
    elif kind is PaymentEventType.PAYMENT_REFUND_FAILED:
        _on_refund_failed(service, uow, order, event)
    elif (target := order_target(kind)) is not None:
        _offer(
            service, uow, order, replace(order, status=target), event=event, attempt=event.attempt
        )


def _on_refund_failed(
    service: OrderService, uow: UnitOfWork, order: Order, event: PaymentEvent
) -> None:
    """Stripe refused a refund for good; if it was the saga's, an operator must act."""
    detail = f"{event.failure_reason or 'refused'} (code {event.error_code or 'none'})"
    sagas = order.payment_id is not None and event.refund_request_id == (
        compensation_request_id(order.order_id, order.payment_id)
    )
    if not sagas:
        note = f"refund {event.refund_request_id} is not the saga's: {detail}"
        _ignored(service, uow, order, event, target=order.status, note=note)
        return
    service.note_refund_failure(
        uow,
        order,
        reason=event.refund_reason or "refund",
        detail=detail,
        amount_minor=event.refund_amount_minor,
    )
    failed = OrderStatus.REFUND_FAILED
    if order.status is not OrderStatus.CANCELLING:
        note = f"refund failed for good while {order.status}: {detail}"
        _ignored(service, uow, order, event, target=failed, note=note)
        return
    service.move(
        uow,
        order,
        replace(order, status=failed, reason=f"refund failed for good: {detail}"[:DETAIL_LIMIT]),
        cause=event.event_type.value,
        event_id=str(event.event_id),
    )


def _on_initiated(
    service: OrderService, uow: UnitOfWork, order: Order | None, event: PaymentEvent
) -> None:
    payment_id, amount = _payment_of(event)
    if order is None:
        _create_order(
            service, uow, event, OrderStatus.PAYMENT_PENDING, captured=Money(0, amount.currency)
        )
    elif order.status in UNPAID and order.payment_id != payment_id:
        # A new payment for an order whose previous one failed: the order follows it.
        service.move(
            uow,
            order,
            replace(order, payment_id=payment_id, payment_attempt=None, total=amount),
            cause="new payment",
            event_id=str(event.event_id),
        )


def _on_completed(
    service: OrderService, uow: UnitOfWork, order: Order | None, event: PaymentEvent
) -> None:
    payment_id, captured = _payment_of(event)
    ref = saga.PaymentRef(payment_id, event.order_id, captured)
    paid_by = order.payment_id if order is not None and order.status in PAID else None
    compensation = saga.on_payment_completed(ref, order.status if order else None, paid_by=paid_by)
    if order is None or compensation is not None:
        _refund_unplaceable(service, uow, order, event, compensation)
        return
    try:
        service.faults.check("place-order", order.order_id)
        unplaceable: PermanentError | None = None
    except PermanentError as failure:
        unplaceable = failure
    paid = replace(order, status=OrderStatus.PENDING, payment_id=payment_id, captured=captured)
    placed = _offer(service, uow, order, paid, event=event, attempt=event.attempt)
    if unplaceable is None:
        return
    # The plan's compensation: paid, but the order could not be placed -> refund.
    cancelling = service.move(
        uow,
        placed,
        replace(
            placed,
            status=OrderStatus.CANCELLING,
            reason=f"order could not be placed: {unplaceable}",
        ),
        cause="placement failed",
        event_id=str(event.event_id),
    )
    command = saga.on_order_placement_failed(ref)
    if command is not None:
        service.request_refund(uow, cancelling, command)


def _payment_of(event: PaymentEvent) -> tuple[int, Money]:
    """The payment id and amount an INITIATED or COMPLETED event cannot do without."""
    if event.amount is None or event.payment_id is None:
        raise PermanentError(f"{event.event_type} {event.event_id} lacks paymentId or amount")
    return event.payment_id, event.amount


def _create_order(
    service: OrderService,
    uow: UnitOfWork,
    event: PaymentEvent,
    status: OrderStatus,
    *,
    captured: Money,
    attempt: int | None = None,
    reason: str | None = None,
) -> Order:
    """The order a payment event is the first news of, created in ``status``.

    Creation publishes nothing: PAYMENT_PENDING owes no event, and an order created
    CANCELLING was never announced, so there is no one to tell it is cancelled.
    """
    assert event.amount is not None
    now = service.now()
    return service.create(
        uow,
        Order(
            order_id=event.order_id,
            user_id=event.user_id,
            payment_id=event.payment_id,
            payment_attempt=attempt,
            total=event.amount,
            status=status,
            captured=captured,
            refunded=Money(0, event.amount.currency),
            reason=reason,
            created_at=now,
            status_changed_at=now,
            compensated_at=None,
        ),
        cause=event.event_type.value,
        event_id=str(event.event_id),
    )


def _refund_unplaceable(
    service: OrderService,
    uow: UnitOfWork,
    order: Order | None,
    event: PaymentEvent,
    command: RefundPayment | None,
) -> None:
    """Money was captured for an order that cannot take it: give it back."""
    assert event.amount is not None
    assert event.payment_id is not None
    if order is None:
        # Its creation failed (PAYMENT_INITIATED was dead-lettered): record the order as
        # being refunded, so that it is seen to end, and ask for the money back.
        order = _create_order(
            service,
            uow,
            event,
            OrderStatus.CANCELLING,
            captured=event.amount,
            attempt=event.attempt,
            reason="order was never created",
        )
        command = saga.on_order_creation_failed(
            saga.PaymentRef(event.payment_id, event.order_id, event.amount)
        )
    if command is not None:
        service.request_refund(uow, order, command)
    log.warning(
        "payment %s completed for orderId=%s in %s: refunding",
        event.payment_id,
        event.order_id,
        order.status,
    )


def on_delivery_event(service: OrderService, uow: UnitOfWork, event: DeliveryEvent) -> None:
    order = repo.find(uow.connection, event.order_id)
    target = order_target(event.event_type)
    if order is None or target is None:
        return
    _offer(service, uow, order, replace(order, status=target), event=event)
