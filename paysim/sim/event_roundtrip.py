"""One event of every payment type through the real broker and back."""

from __future__ import annotations

from paysim.bus.producer import EventProducer
from paysim.bus.reader import Record, read_records
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.status import PaymentMethod, PaymentStatus
from paysim.errors import InfraError
from paysim.topics import topic_for

_STATUS = {
    PaymentEventType.PAYMENT_INITIATED: PaymentStatus.PENDING,
    PaymentEventType.PAYMENT_PROCESSING: PaymentStatus.PROCESSING,
    PaymentEventType.PAYMENT_COMPLETED: PaymentStatus.COMPLETED,
    PaymentEventType.PAYMENT_FAILED: PaymentStatus.FAILED,
    PaymentEventType.PAYMENT_CANCELLED: PaymentStatus.CANCELLED,
    PaymentEventType.PAYMENT_REFUND_INITIATED: PaymentStatus.REFUND_PENDING,
    PaymentEventType.PAYMENT_REFUNDED: PaymentStatus.REFUNDED,
    PaymentEventType.PAYMENT_WEBHOOK_RECEIVED: PaymentStatus.COMPLETED,
    PaymentEventType.PAYMENT_REFUND_FAILED: PaymentStatus.COMPLETED,
}


def sample_payment_events(order_id: int, currency: str = "usd") -> list[PaymentEvent]:
    """One plausible event of each payment type (the plan's eight and paysim's own)."""
    common: dict[str, object] = {
        "order_id": order_id,
        "payment_id": order_id,
        "user_id": 42,
        "stripe_payment_intent_id": f"pi_sample_{order_id}",
        "amount_minor": 2599,
        "currency": currency,
        "payment_method": PaymentMethod.CARD,
        "payment_method_id": "pm_card_visa",
    }
    extras: dict[PaymentEventType, dict[str, object]] = {
        PaymentEventType.PAYMENT_COMPLETED: {
            "stripe_charge_id": f"ch_sample_{order_id}",
            "receipt_url": f"https://pay.example/receipts/{order_id}",
        },
        PaymentEventType.PAYMENT_FAILED: {
            "failure_reason": "Your card has insufficient funds.",
            "error_code": "card_declined",
            "decline_code": "insufficient_funds",
        },
        PaymentEventType.PAYMENT_CANCELLED: {"cancel_reason": "requested_by_customer"},
        PaymentEventType.PAYMENT_REFUND_INITIATED: {
            "refund_amount_minor": 1000,
            "refund_reason": "order cancelled",
        },
        PaymentEventType.PAYMENT_REFUNDED: {
            "refund_amount_minor": 1000,
            "refund_id": f"re_sample_{order_id}",
        },
        PaymentEventType.PAYMENT_REFUND_FAILED: {
            "refund_amount_minor": 1000,
            "refund_request_id": f"order-{order_id}-cancel",
            "failure_reason": "Charge has already been refunded.",
            "error_code": "charge_already_refunded",
        },
        PaymentEventType.PAYMENT_WEBHOOK_RECEIVED: {
            "webhook_id": f"wh_{order_id}",
            "stripe_event_id": f"evt_sample_{order_id}",
            "webhook_event_type": "payment_intent.succeeded",
            "raw_payload": '{"id":"evt_sample"}',
        },
    }
    return [
        PaymentEvent.model_validate(
            {"event_type": t, "status": _STATUS[t], **common, **extras.get(t, {})}
        )
        for t in PaymentEventType
    ]


def publish_and_read_back(bootstrap_servers: str, events: list[PaymentEvent]) -> list[Record]:
    """Publish events (own topic and catch-all) and read their own topics back."""
    producer = EventProducer(bootstrap_servers, client_id="paysim-roundtrip")
    failures: list[Exception] = []
    for event in events:
        producer.publish_event(event, lambda err: failures.append(err) if err else None)
    remaining = producer.flush(30)
    if remaining or failures:
        raise InfraError(f"{remaining} undelivered, failures: {failures[:3]}")
    wanted = {str(e.event_id) for e in events}
    topics = sorted({topic_for(e.event_type.value).name for e in events})
    return [
        r for r in read_records(bootstrap_servers, topics) if r.headers.get("eventId") in wanted
    ]
