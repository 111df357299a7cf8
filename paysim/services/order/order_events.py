"""Building OrderEvents from an order's current state."""

from __future__ import annotations

from paysim.domain.events import OrderEvent, OrderEventType
from paysim.domain.status import OrderStatus
from paysim.services.order.repository import Order


def order_event(
    order: Order, event_type: OrderEventType, *, previous: OrderStatus | None
) -> OrderEvent:
    return OrderEvent(
        event_type=event_type,
        order_id=order.order_id,
        user_id=order.user_id,
        payment_id=order.payment_id,
        total_amount_minor=order.total.minor,
        currency=order.total.currency,
        status=order.status,
        previous_status=previous,
        reason=order.reason,
    )
