"""The order state machine, and what moves an order: payment, delivery and restaurant.

Moves (the rules for commands and events are those of ``payment_state``)::

    PAYMENT_PENDING -> PENDING | PAYMENT_FAILED | CANCELLED
    PAYMENT_FAILED  -> PAYMENT_PENDING (new attempt, command only) | PENDING | CANCELLED
    PENDING -> CONFIRMED -> PREPARING -> READY_FOR_PICKUP -> OUT_FOR_DELIVERY -> DELIVERED
    PENDING ... OUT_FOR_DELIVERY -> CANCELLING (customer cancel or restaurant rejection)
    CANCELLING -> REFUNDED | REFUND_FAILED
    REFUND_FAILED -> REFUNDED

PAYMENT_FAILED -> PENDING is a plain move: the completion of a retry may be the first
the order hears of it. An order that was paid is never CANCELLED, it is REFUNDED: the
money has to go back first, and CANCELLING is where the order waits for it. A full
refund made outside the order flow (through the payment API) of a paid, undelivered
order takes it through CANCELLING too (``refund_path``), so that the restaurant and the
courier stop, as they do for any other cancellation.

REFUND_FAILED is where the saga stops when Stripe refuses its refund for good
(PAYMENT_REFUND_FAILED for the saga's own refund request): the money is still captured,
the payment's refund is FAILED, and asking again would only be refused again, so no
deadline re-asks it. It is an operator's queue, not a resting place: the order is listed
by status, its failure is on its compensations, and the run invariants name it. When the
operator refunds the payment in full (through the payment API) the order ends REFUNDED.

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

UNPAID: frozenset[OrderStatus] = frozenset(
    {OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_FAILED}
)
"""Orders whose payment has not been captured: cancelling them cancels the payment."""

PAID_UNDELIVERED: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.PREPARING,
        OrderStatus.READY_FOR_PICKUP,
        OrderStatus.OUT_FOR_DELIVERY,
    }
)
"""Orders paid for and not yet delivered: cancelling them refunds the payment."""

PAID: frozenset[OrderStatus] = PAID_UNDELIVERED | {OrderStatus.DELIVERED}
"""Orders placed with a captured payment (and not being cancelled): that payment is the
one that paid them, and a second one completing for them is refunded."""

ORDER_MOVES: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAYMENT_PENDING: frozenset(
        {OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAYMENT_FAILED: frozenset(
        {OrderStatus.PAYMENT_PENDING, OrderStatus.PENDING, OrderStatus.CANCELLED}
    ),
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLING}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PREPARING, OrderStatus.CANCELLING}),
    OrderStatus.PREPARING: frozenset({OrderStatus.READY_FOR_PICKUP, OrderStatus.CANCELLING}),
    OrderStatus.READY_FOR_PICKUP: frozenset({OrderStatus.OUT_FOR_DELIVERY, OrderStatus.CANCELLING}),
    OrderStatus.OUT_FOR_DELIVERY: frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLING}),
    OrderStatus.CANCELLING: frozenset({OrderStatus.REFUNDED, OrderStatus.REFUND_FAILED}),
    OrderStatus.REFUND_FAILED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}

# CANCELLING ranks above every paid status, so a late delivery milestone of a cancelled
# order is stale; DELIVERED ranks above CANCELLING but cannot be reached from it, so a
# delivery that lands during a refund is reported as a conflict rather than applied.
ORDER_RANK: Mapping[OrderStatus, int] = {
    OrderStatus.PAYMENT_PENDING: 0,
    OrderStatus.PAYMENT_FAILED: 1,
    OrderStatus.PENDING: 2,
    OrderStatus.CONFIRMED: 3,
    OrderStatus.PREPARING: 4,
    OrderStatus.READY_FOR_PICKUP: 5,
    OrderStatus.OUT_FOR_DELIVERY: 6,
    OrderStatus.CANCELLING: 7,
    OrderStatus.DELIVERED: 8,
    OrderStatus.CANCELLED: 8,
    OrderStatus.REFUND_FAILED: 9,
    OrderStatus.REFUNDED: 10,
}

ORDER_MACHINE: StateMachine[OrderStatus] = StateMachine(
    "order",
    ORDER_MOVES,
    ORDER_RANK,
    restarts={OrderStatus.PAYMENT_FAILED: OrderStatus.PAYMENT_PENDING},
)


class RestaurantMove(StrEnum):
    """What a restaurant does with an order it has been sent."""

    ACCEPT = "ACCEPT"
    START_PREPARING = "START_PREPARING"
    MARK_READY = "MARK_READY"
    REJECT = "REJECT"


RESTAURANT_MOVE_TARGETS: Mapping[RestaurantMove, OrderStatus] = {
    RestaurantMove.ACCEPT: OrderStatus.CONFIRMED,
    RestaurantMove.START_PREPARING: OrderStatus.PREPARING,
    RestaurantMove.MARK_READY: OrderStatus.READY_FOR_PICKUP,
    # The restaurant only ever sees paid orders, so a rejection is a refund to make.
    RestaurantMove.REJECT: OrderStatus.CANCELLING,
}

PAYMENT_EVENT_TARGETS: Mapping[PaymentEventType, OrderStatus] = {
    PaymentEventType.PAYMENT_INITIATED: OrderStatus.PAYMENT_PENDING,
    # A retry on the same intent starts with PROCESSING, not INITIATED.
    PaymentEventType.PAYMENT_PROCESSING: OrderStatus.PAYMENT_PENDING,
    PaymentEventType.PAYMENT_COMPLETED: OrderStatus.PENDING,
    PaymentEventType.PAYMENT_FAILED: OrderStatus.PAYMENT_FAILED,
    PaymentEventType.PAYMENT_CANCELLED: OrderStatus.CANCELLED,
    PaymentEventType.PAYMENT_REFUNDED: OrderStatus.REFUNDED,
}
"""Payment events that move an order. A refund starting does not: the order was moved
to CANCELLING by the command that asked for it, and a partial refund leaves it be."""

DELIVERY_EVENT_TARGETS: Mapping[DeliveryEventType, OrderStatus] = {
    DeliveryEventType.DELIVERY_PICKED_UP: OrderStatus.OUT_FOR_DELIVERY,
    # In transit implies picked up; it stands in for a PICKED_UP that is late.
    DeliveryEventType.DELIVERY_IN_TRANSIT: OrderStatus.OUT_FOR_DELIVERY,
    DeliveryEventType.DELIVERY_DELIVERED: OrderStatus.DELIVERED,
}
"""Delivery events that move an order. Assigning or cancelling a courier does not."""

ORDER_EVENT_ON_ENTER: Mapping[OrderStatus, OrderEventType] = {
    OrderStatus.PENDING: OrderEventType.ORDER_CREATED,
    OrderStatus.CONFIRMED: OrderEventType.ORDER_CONFIRMED,
    OrderStatus.PREPARING: OrderEventType.ORDER_PREPARING,
    OrderStatus.READY_FOR_PICKUP: OrderEventType.ORDER_READY_FOR_PICKUP,
    OrderStatus.OUT_FOR_DELIVERY: OrderEventType.ORDER_OUT_FOR_DELIVERY,
    OrderStatus.DELIVERED: OrderEventType.ORDER_DELIVERED,
    OrderStatus.CANCELLING: OrderEventType.ORDER_CANCELLED,
    OrderStatus.CANCELLED: OrderEventType.ORDER_CANCELLED,
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
        return move_order(current, OrderStatus.CANCELLED)
    if current in PAID_UNDELIVERED:
        return move_order(current, OrderStatus.CANCELLING)
    raise IllegalTransition(
        "order",
        current,
        OrderStatus.CANCELLED,
        "only unpaid or undelivered orders can be cancelled",
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


def refund_path(current: OrderStatus) -> tuple[OrderStatus, ...]:
    """The statuses a full refund moves an order through, from ``current``.

    A paid, undelivered order goes through CANCELLING (which announces ORDER_CANCELLED)
    rather than straight to REFUNDED, which announces nothing and would leave the
    courier on the road with food already paid back.
    """
    if current in PAID_UNDELIVERED:
        return (OrderStatus.CANCELLING, OrderStatus.REFUNDED)
    return (OrderStatus.REFUNDED,)


def order_event_on_enter(status: OrderStatus) -> OrderEventType | None:
    """The order event published on entering ``status``, if any."""
    return ORDER_EVENT_ON_ENTER.get(status)
