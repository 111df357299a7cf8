"""The delivery service's consumer: the order milestones a courier acts on."""

from __future__ import annotations

from collections.abc import Callable

from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.domain.events import AnyEvent, OrderEvent, OrderEventType
from paysim.errors import PermanentError
from paysim.services.delivery.service import GROUP, DeliveryService

TOPICS = ("order-created", "order-ready-for-pickup", "order-cancelled")

__all__ = ["GROUP", "TOPICS", "order_handler"]


def order_handler(service: DeliveryService) -> Handler:
    """Assign, pick up or stop a courier; each idempotent by the event's id."""
    actions: dict[OrderEventType, Callable[[OrderEvent], None]] = {
        OrderEventType.ORDER_CREATED: service.assign_courier,
        OrderEventType.ORDER_READY_FOR_PICKUP: service.request_pickup,
        OrderEventType.ORDER_CANCELLED: service.cancel,
    }

    def handle(event: AnyEvent, record: Record) -> None:
        if not isinstance(event, OrderEvent):
            raise PermanentError(f"{record.topic} carries {event.event_type}, not an order event")
        action = actions.get(event.event_type)
        if action is not None:
            action(event)

    return handle
