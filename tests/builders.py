"""Events for tests, each built in one call.

``make_event`` picks the event's family from its type, so a test names only the fields
it is about. The named builders are the events the store, outbox and consumer tests add
again and again: their values are arbitrary but complete (ids, money, statuses), so a
record written and read back has something to carry.
"""

from __future__ import annotations

from typing import Any, overload

from paysim.domain.events import (
    EVENT_CLASSES,
    AnyEvent,
    DeliveryEvent,
    DeliveryEventType,
    OrderEvent,
    OrderEventType,
    PaymentEvent,
    PaymentEventType,
)
from paysim.domain.status import OrderStatus, PaymentStatus


@overload
def make_event(event_type: PaymentEventType, order_id: int, **fields: Any) -> PaymentEvent: ...
@overload
def make_event(event_type: OrderEventType, order_id: int, **fields: Any) -> OrderEvent: ...
@overload
def make_event(event_type: DeliveryEventType, order_id: int, **fields: Any) -> DeliveryEvent: ...
@overload
def make_event(event_type: str, order_id: int, **fields: Any) -> AnyEvent: ...
def make_event(event_type: str, order_id: int, **fields: Any) -> AnyEvent:
    """An event of ``event_type`` (an event type or its name) for ``order_id``."""
    family = EVENT_CLASSES[event_type]
    return family.model_validate({"event_type": event_type, "order_id": order_id, **fields})


def payment_completed(order_id: int = 42) -> PaymentEvent:
    return make_event(
        PaymentEventType.PAYMENT_COMPLETED,
        order_id,
        payment_id=7,
        user_id=3,
        amount_minor=1999,
        currency="usd",
        status=PaymentStatus.COMPLETED,
        previous_status=PaymentStatus.PROCESSING,
        stripe_payment_intent_id="pi_123",
    )


def payment_cancelled(order_id: int) -> PaymentEvent:
    """A payment's cancellation; its paymentId is the orderId."""
    return make_event(
        PaymentEventType.PAYMENT_CANCELLED,
        order_id,
        payment_id=order_id,
        amount_minor=1999,
        currency="usd",
    )


def order_confirmed(order_id: int = 42) -> OrderEvent:
    return make_event(
        OrderEventType.ORDER_CONFIRMED,
        order_id,
        status=OrderStatus.CONFIRMED,
        previous_status=OrderStatus.PENDING,
        payment_id=7,
        total_amount_minor=1500,
        currency="jpy",
    )
