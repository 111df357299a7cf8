"""The payment service's consumer: refunds asked for on ``payment-refund-initiated``.

A request must name a payment of its own order (``orderId``): one naming another
order's payment is refused for good and dead-lettered, never refunded.
"""

from __future__ import annotations

import logging

from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.domain.events import AnyEvent, PaymentEvent, PaymentEventType
from paysim.errors import PermanentError
from paysim.services.payment.refunding import PaymentRefunds

log = logging.getLogger(__name__)

GROUP = "payment-service"
TOPICS = ("payment-refund-initiated",)
SOURCE = "payment-service"


def refund_handler(refunds: PaymentRefunds) -> Handler:
    """Perform the refund an event asks for; idempotent by the refund's request id."""

    def handle(event: AnyEvent, record: Record) -> None:
        if not isinstance(event, PaymentEvent):
            raise PermanentError(f"{record.topic} carries {event.event_type}, not a payment event")
        if event.event_type is not PaymentEventType.PAYMENT_REFUND_INITIATED:
            return
        if event.source == SOURCE:
            # Our own announcement: the API call that wrote it performs the refund (and
            # the reconciler finishes it if that call died).
            return
        if event.payment_id is None:
            raise PermanentError(f"refund request {event.event_id} names no paymentId")
        request_id = event.refund_request_id or str(event.event_id)
        log.info(
            "refund requested eventId=%s orderId=%s paymentId=%s",
            event.event_id,
            event.order_id,
            event.payment_id,
        )
        refunds.refund(
            event.payment_id,
            event.refund_amount,
            event.refund_reason,
            request_id,
            announce=False,
            for_order=event.order_id,
        )

    return handle
