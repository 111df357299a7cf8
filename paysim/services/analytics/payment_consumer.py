"""The analytics service's consumer: every payment event, from the catch-all topic."""

from __future__ import annotations

from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.domain.events import AnyEvent, PaymentEvent
from paysim.errors import PermanentError
from paysim.services.analytics.service import GROUP, AnalyticsService

TOPICS = ("payment-events",)

__all__ = ["GROUP", "TOPICS", "analytics_handler"]


def analytics_handler(service: AnalyticsService) -> Handler:
    """Count each payment event once (by eventId)."""

    def handle(event: AnyEvent, record: Record) -> None:
        if not isinstance(event, PaymentEvent):
            raise PermanentError(f"{record.topic} carries {event.event_type}, not a payment event")
        service.record(event)

    return handle
