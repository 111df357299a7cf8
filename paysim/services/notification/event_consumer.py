"""The notification service's consumer: payment outcomes and the milestones a customer
hears about, each turned into its messages once."""

from __future__ import annotations

import logging

from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.domain.events import AnyEvent
from paysim.services.notification.service import GROUP, NotificationService

log = logging.getLogger(__name__)

TOPICS = (
    "payment-completed",
    "payment-failed",
    "payment-refunded",
    "order-confirmed",
    "order-out-for-delivery",
    "order-delivered",
    "order-cancelled",
    "delivery-assigned",
)

__all__ = ["GROUP", "TOPICS", "notification_handler"]


def notification_handler(service: NotificationService) -> Handler:
    """Record the messages of each event; idempotent by eventId (and eventId + channel)."""

    def handle(event: AnyEvent, record: Record) -> None:
        sent = service.notify(event)
        if not sent:
            log.debug(
                "nothing new to send for %s from %s eventId=%s orderId=%s",
                event.event_type,
                record.topic,
                event.event_id,
                event.order_id,
                extra={"eventId": str(event.event_id), "orderId": event.order_id},
            )

    return handle
