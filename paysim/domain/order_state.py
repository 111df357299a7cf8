"""The order state machine, and what moves an order: payment, delivery and restaurant.

Moves (the rules for commands and events are those of ``payment_state``)::

    PAYMENT_PENDING -> PENDING | PAYMENT_FAILED | CANCELLED
    PAYMENT_FAILED  -> PAYMENT_PENDING (new attempt, command only) | PENDING | CANCELLED
    PENDING -> CONFIRMED -> PREPARING -> READY_FOR_PICKUP -> OUT_FOR_DELIVERY -> DELIVERED
    PENDING ... OUT_FOR_DELIVERY -> CANCELLING (customer cancel or restaurant rejection)
    CANCELLING -> REFUNDED

PAYMENT_FAILED -> PENDING is a plain move: the completion of a retry may be the first
the order hears of it. An order that was paid is never CANCELLED, it is REFUNDED: the
money has to go back first, and CANCELLING is where the order waits for it.

Events published on entering a status: the plan's milestones, with ORDER_CANCELLED on
entering CANCELLED (unpaid) and CANCELLING (paid). Paid orders announce their
cancellation when it starts, not when the refund lands, so that the restaurant and the
courier stop at once; the refund itself is announced by ``payment-refunded``. Entering
PAYMENT_PENDING, PAYMENT_FAILED or REFUNDED publishes no order event.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from paysim.domain.events import DeliveryEventType, OrderEventType, PaymentEventType
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.domain.transitions import IllegalTransition, StateMachine, Transition

OS = OrderStatus

UNPAID: frozenset[OrderStatus] = frozenset({OS.PAYMENT_PENDING, OS.PAYMENT_FAILED})
"""Orders whose payment has not been captured: cancelling them cancels the payment."""

PAID_UNDELIVERED: frozenset[OrderStatus] = frozenset(
    {OS.PENDING, OS.CONFIRMED, OS.PREPARING, OS.READY_FOR_PICKUP, OS.OUT_FOR_DELIVERY}
)
"""Orders paid for and not yet delivered: cancelling them refunds the payment."""

ORDER_MOVES: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OS.PAYMENT_PENDING: frozenset({OS.PENDING, OS.PAYMENT_FAILED, OS.CANCELLED}),
    OS.PAYMENT_FAILED: frozenset({OS.PAYMENT_PENDING, OS.PENDING, OS.CANCELLED}),
    OS.PENDING: frozenset({OS.CONFIRMED, OS.CANCELLING}),
    OS.CONFIRMED: frozenset({OS.PREPARING, OS.CANCELLING}),
    OS.PREPARING: frozenset({OS.READY_FOR_PICKUP, OS.CANCELLING}),
    OS.READY_FOR_PICKUP: frozenset({OS.OUT_FOR_DELIVERY, OS.CANCELLING}),
    OS.OUT_FOR_DELIVERY: frozenset({OS.DELIVERED, OS.CANCELLING}),
    OS.CANCELLING: frozenset({OS.REFUNDED}),
    OS.DELIVERED: frozenset(),
    OS.CANCELLED: frozenset(),
    OS.REFUNDED: frozenset(),
}

# CANCELLING ranks above every paid status, so a late delivery milestone of a cancelled
# order is stale; DELIVERED ranks above CANCELLING but cannot be reached from it, so a
# delivery that lands during a refund is reported as a conflict rather than applied.
ORDER_RANK: Mapping[OrderStatus, int] = {
    OS.PAYMENT_PENDING: 0,
    OS.PAYMENT_FAILED: 1,
    OS.PENDING: 2,
    OS.CONFIRMED: 3,
    OS.PREPARING: 4,
    OS.READY_FOR_PICKUP: 5,
    OS.OUT_FOR_DELIVERY: 6,
    OS.CANCELLING: 7,
    OS.DELIVERED: 8,
    OS.CANCELLED: 8,
    OS.REFUNDED: 9,
}

ORDER_MACHINE: StateMachine[OrderStatus] = StateMachine(
    "order", ORDER_MOVES, ORDER_RANK, restarts={OS.PAYMENT_FAILED: OS.PAYMENT_PENDING}
)


class RestaurantMove(StrEnum):
    """What a restaurant does with an order it has been sent."""

    ACCEPT = "ACCEPT"
    START_PREPARING = "START_PREPARING"
    MARK_READY = "MARK_READY"
    REJECT = "REJECT"


RESTAURANT_MOVE_TARGETS: Mapping[RestaurantMove, OrderStatus] = {
    RestaurantMove.ACCEPT: OS.CONFIRMED,
    RestaurantMove.START_PREPARING: OS.PREPARING,
    RestaurantMove.MARK_READY: OS.READY_FOR_PICKUP,
    # The restaurant only ever sees paid orders, so a rejection is a refund to make.
    RestaurantMove.REJECT: OS.CANCELLING,
}

PAYMENT_EVENT_TARGETS: Mapping[PaymentEventType, OrderStatus] = {
    PaymentEventType.PAYMENT_INITIATED: OS.PAYMENT_PENDING,
    # A retry on the same intent starts with PROCESSING, not INITIATED.
    PaymentEventType.PAYMENT_PROCESSING: OS.PAYMENT_PENDING,
    PaymentEventType.PAYMENT_COMPLETED: OS.PENDING,
    PaymentEventType.PAYMENT_FAILED: OS.PAYMENT_FAILED,
    PaymentEventType.PAYMENT_CANCELLED: OS.CANCELLED,
    PaymentEventType.PAYMENT_REFUNDED: OS.REFUNDED,
}
"""Payment events that move an order. A refund starting does not: the order was moved
to CANCELLING by the command that asked for it, and a partial refund leaves it be."""

DELIVERY_EVENT_TARGETS: Mapping[DeliveryEventType, OrderStatus] = {
    DeliveryEventType.DELIVERY_PICKED_UP: OS.OUT_FOR_DELIVERY,
    # In transit implies picked up; it stands in for a PICKED_UP that is late.
    DeliveryEventType.DELIVERY_IN_TRANSIT: OS.OUT_FOR_DELIVERY,
    DeliveryEventType.DELIVERY_DELIVERED: OS.DELIVERED,
}
"""Delivery events that move an order. Assigning or cancelling a courier does not."""

ORDER_EVENT_ON_ENTER: Mapping[OrderStatus, OrderEventType] = {
    OS.PENDING: OrderEventType.ORDER_CREATED,
    OS.CONFIRMED: OrderEventType.ORDER_CONFIRMED,
    OS.PREPARING: OrderEventType.ORDER_PREPARING,
    OS.READY_FOR_PICKUP: OrderEventType.ORDER_READY_FOR_PICKUP,
    OS.OUT_FOR_DELIVERY: OrderEventType.ORDER_OUT_FOR_DELIVERY,
    OS.DELIVERED: OrderEventType.ORDER_DELIVERED,
    OS.CANCELLING: OrderEventType.ORDER_CANCELLED,
    OS.CANCELLED: OrderEventType.ORDER_CANCELLED,
}


def move_order(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """A commanded move: the new status, or ``IllegalTransition``."""
    return ORDER_MACHINE.move(current, target)


def apply_order_event(
    current: OrderStatus,
    target: OrderStatus,
    *,
    event_attempt: int | None = None,
    current_attempt: int | None = None,
) -> Transition[OrderStatus]:
    """An event's status: applied if forward, else ignored with a reason."""
    return ORDER_MACHINE.offer(
        current, target, event_attempt=event_attempt, current_attempt=current_attempt
    )


def cancel_order(current: OrderStatus) -> OrderStatus:
    """A customer's cancel: CANCELLED if unpaid, CANCELLING if paid and undelivered."""
    if current in UNPAID:
        return move_order(current, OS.CANCELLED)
    if current in PAID_UNDELIVERED:
        return move_order(current, OS.CANCELLING)
    raise IllegalTransition(
        "order", current, OS.CANCELLED, "only unpaid or undelivered orders can be cancelled"
    )


def order_target(
    event_type: PaymentEventType | DeliveryEventType,
    *,
    payment_status: PaymentStatus | None = None,
) -> OrderStatus | None:
    """The status an incoming event asks the order to reach, or None if it has no say.

    ``payment_status`` is the status a PAYMENT_REFUNDED event carries: a partial refund
    (PARTIALLY_REFUNDED) does not end the order.
    """
    if isinstance(event_type, PaymentEventType):
        if (
            event_type is PaymentEventType.PAYMENT_REFUNDED
            and payment_status is PaymentStatus.PARTIALLY_REFUNDED
        ):
            return None
        return PAYMENT_EVENT_TARGETS.get(event_type)
    return DELIVERY_EVENT_TARGETS.get(event_type)


def order_event_on_enter(status: OrderStatus) -> OrderEventType | None:
    """The order event published on entering ``status``, if any."""
    return ORDER_EVENT_ON_ENTER.get(status)
