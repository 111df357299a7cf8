"""The notification service in-process against the real broker: each event a customer
hears about becomes its messages, once, with the exact texts.

The service runs on its own database under a consumer group of its own, positioned at
the end of its topics first (see ``test_delivery_service``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from paysim.bootstrap.notification import build_process
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.domain.events import (
    AnyEvent,
    DeliveryEventType,
    OrderEventType,
    PaymentEvent,
    PaymentEventType,
)
from paysim.services.notification.event_consumer import TOPICS
from tests.builders import make_event
from tests.support import in_process, poll

pytestmark = pytest.mark.integration

USER = 4242


@pytest.fixture
def api(stack_settings: Settings, bootstrap_servers: str, tmp_path: Path) -> Iterator[TestClient]:
    db_path = tmp_path / "notification.db"
    with in_process(build_process, TOPICS, stack_settings, bootstrap_servers, db_path) as client:
        yield client


@pytest.fixture
def producer(bootstrap_servers: str) -> Iterator[EventProducer]:
    producer = EventProducer(bootstrap_servers, client_id="test-notification")
    yield producer
    producer.close()


def _publish(producer: EventProducer, *events: AnyEvent) -> None:
    for event in events:
        producer.publish_event(event)
    assert producer.flush(10) == 0


def _sent(api: TestClient, order_id: int, count: int) -> list[dict[str, Any]]:
    """The order's notifications once there are ``count`` (newest first)."""

    def enough() -> list[dict[str, Any]] | None:
        response = api.get("/api/notifications", params={"orderId": order_id, "limit": 100})
        found: list[dict[str, Any]] = response.json()
        return found if len(found) >= count else None

    rows: list[dict[str, Any]] = poll(enough, f"{count} notifications of order {order_id}")
    return rows


def _payment(event_type: PaymentEventType, order_id: int, **fields: Any) -> PaymentEvent:
    # paymentId = orderId: far above any real payment's id, so that a live order service
    # (the session's ``services``) asking to refund it cannot touch a real payment.
    return make_event(
        event_type, order_id, user_id=USER, payment_id=order_id, currency="usd", **fields
    )


def test_payment_notifications_are_recorded_once_with_exact_texts(
    api: TestClient, producer: EventProducer
) -> None:
    order_id = random.randint(10**12, 10**13)
    completed = _payment(PaymentEventType.PAYMENT_COMPLETED, order_id, amount_minor=2599)
    # The same record twice (Kafka redelivers), then another event on the same topic and
    # key: handled after the duplicate, so once it shows, the duplicate was handled too.
    later = _payment(PaymentEventType.PAYMENT_COMPLETED, order_id, amount_minor=100)
    failed = _payment(
        PaymentEventType.PAYMENT_FAILED,
        order_id,
        amount_minor=2599,
        failure_reason="Your card has insufficient funds.",
        decline_code="insufficient_funds",
    )
    refunded = _payment(
        PaymentEventType.PAYMENT_REFUNDED, order_id, amount_minor=2599, refund_amount_minor=1200
    )
    _publish(producer, completed, completed, later, failed, refunded)

    sent = _sent(api, order_id, count=3 + 3 + 2 + 1)
    by_event = Counter(row["eventId"] for row in sent)
    assert by_event == {
        str(completed.event_id): 3,
        str(later.event_id): 3,
        str(failed.event_id): 2,
        str(refunded.event_id): 1,
    }
    texts = {(row["eventId"], row["channel"]): row for row in sent}
    email = texts[(str(completed.event_id), "EMAIL")]
    assert (
        email["text"] == f"Thank you! We received your payment of 25.99 USD for order #{order_id}."
    )
    assert (email["userId"], email["template"]) == (USER, "payment-confirmation")
    assert texts[(str(failed.event_id), "PUSH")]["text"] == (
        f"Your payment of 25.99 USD for order #{order_id} did not go through: Your card has "
        "insufficient funds. Please try again, or use another card."
    )
    refund = texts[(str(refunded.event_id), "EMAIL")]
    assert refund["subject"] == f"Refund of 12.00 USD for order #{order_id}"
    assert "5-10 business days" in refund["text"]
    ids = [row["id"] for row in sent]
    assert ids == sorted(ids, reverse=True), "newest first"


def test_order_milestones_reach_the_customer_learned_from_the_payment(
    api: TestClient, producer: EventProducer
) -> None:
    order_id = random.randint(10**12, 10**13)
    _publish(producer, _payment(PaymentEventType.PAYMENT_COMPLETED, order_id, amount_minor=500))
    _sent(api, order_id, count=3)  # the customer is known from here on
    milestones: list[AnyEvent] = [
        make_event(OrderEventType.ORDER_CONFIRMED, order_id, user_id=USER),
        make_event(DeliveryEventType.DELIVERY_ASSIGNED, order_id, agent_id="agent-007"),
        make_event(OrderEventType.ORDER_OUT_FOR_DELIVERY, order_id),
        make_event(OrderEventType.ORDER_DELIVERED, order_id),
    ]
    _publish(producer, *milestones)
    sent = _sent(api, order_id, count=3 + 1 + 1 + 2 + 1)
    templates = Counter(row["template"] for row in sent)
    assert templates == {
        "payment-confirmation": 3,
        "order-confirmed": 1,
        "courier-assigned": 1,
        "order-out-for-delivery": 2,
        "order-delivered": 1,
    }
    assert {row["userId"] for row in sent} == {USER}
    [courier] = [row for row in sent if row["template"] == "courier-assigned"]
    assert courier["text"] == (
        f"Courier agent-007 will pick up your order #{order_id} as soon as it is ready."
    )
    mine = api.get("/api/notifications", params={"userId": USER, "limit": 1000}).json()
    assert {row["eventId"] for row in sent} <= {row["eventId"] for row in mine}
    assert len(api.get("/api/notifications", params={"orderId": order_id, "limit": 2}).json()) == 2
    assert api.get("/api/notifications", params={"limit": 0}).status_code == 422
    assert 'notification_messages_sent{channel="PUSH"}' in api.get("/metrics").text
    assert api.get("/healthz").json()["status"] == "ok"
