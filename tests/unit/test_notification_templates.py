"""Notification texts: exact amounts, the failure's reason and advice, the refund timeline;
and the service recording each (event, channel) once, on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from paysim.domain.events import (
    AnyEvent,
    DeliveryEvent,
    DeliveryEventType,
    OrderEvent,
    OrderEventType,
    PaymentEvent,
    PaymentEventType,
)
from paysim.services.notification.event_consumer import TOPICS
from paysim.services.notification.messages import NO_REASON, fields_for, messages_for, render
from paysim.services.notification.repository import list_notifications
from paysim.services.notification.service import NotificationService
from paysim.services.notification.tables import metadata
from paysim.services.notification.templates import TEMPLATES, Channel
from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.topics import BY_NAME


def _payment(event_type: PaymentEventType, **fields: object) -> PaymentEvent:
    base: dict[str, object] = {"event_type": event_type, "order_id": 77, "user_id": 5}
    return PaymentEvent.model_validate({**base, **fields})


def test_payment_confirmation_states_the_exact_amount_on_three_channels() -> None:
    event = _payment(PaymentEventType.PAYMENT_COMPLETED, amount_minor=2599, currency="usd")
    messages = messages_for(event)
    assert [m.channel for m in messages] == [Channel.EMAIL, Channel.SMS, Channel.PUSH]
    assert {m.template for m in messages} == {"payment-confirmation"}
    assert messages[0].subject == "Payment received for order #77"
    assert messages[0].text == ("Thank you! We received your payment of 25.99 USD for order #77.")


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (2599, "usd", "25.99 USD"),
        (2500, "eur", "25.00 EUR"),
        (5, "usd", "0.05 USD"),
        (1000, "jpy", "1000 JPY"),
        (1500, "kwd", "1.500 KWD"),
        # The largest amount an event may carry (Stripe's ceiling).
        (99_999_999, "usd", "999999.99 USD"),
        (99_999_999, "kwd", "99999.999 KWD"),
    ],
)
def test_amounts_are_rendered_exactly(minor: int, currency: str, shown: str) -> None:
    event = _payment(PaymentEventType.PAYMENT_COMPLETED, amount_minor=minor, currency=currency)
    assert f"payment of {shown} for" in messages_for(event)[0].text


def test_a_failure_gives_the_reason_and_suggests_a_retry_or_another_card() -> None:
    event = _payment(
        PaymentEventType.PAYMENT_FAILED,
        amount_minor=2599,
        currency="usd",
        failure_reason="Your card was declined.",
        decline_code="generic_decline",
    )
    messages = messages_for(event)
    assert [m.channel for m in messages] == [Channel.EMAIL, Channel.PUSH]
    assert messages[0].text == (
        "Your payment of 25.99 USD for order #77 did not go through: Your card was "
        "declined. Please try again, or use another card."
    )


def test_a_failure_without_a_message_falls_back_to_its_codes() -> None:
    event = _payment(
        PaymentEventType.PAYMENT_FAILED, amount_minor=100, currency="usd", error_code="expired_card"
    )
    assert "did not go through: expired_card." in messages_for(event)[0].text
    bare = _payment(PaymentEventType.PAYMENT_FAILED)
    assert f"did not go through: {NO_REASON}." in messages_for(bare)[0].text
    assert messages_for(bare)[0].text.startswith("Your payment of the amount due for order")


def test_a_refund_states_its_amount_and_the_five_to_ten_business_days() -> None:
    event = _payment(
        PaymentEventType.PAYMENT_REFUNDED,
        amount_minor=3000,
        refund_amount_minor=1200,
        currency="usd",
    )
    [email] = messages_for(event)
    assert email.channel is Channel.EMAIL
    assert email.subject == "Refund of 12.00 USD for order #77"
    assert email.text == (
        "We have refunded 12.00 USD for order #77. "
        "It takes 5-10 business days to appear on your statement."
    )


def test_order_and_courier_milestones_have_their_texts() -> None:
    assigned = DeliveryEvent(
        event_type=DeliveryEventType.DELIVERY_ASSIGNED, order_id=77, agent_id="agent-042"
    )
    assert messages_for(assigned)[0].text.startswith("Courier agent-042 will pick up your order")
    cancelled = OrderEvent(
        event_type=OrderEventType.ORDER_CANCELLED, order_id=77, reason="restaurant closed."
    )
    assert "cancelled: restaurant closed. If you paid" in messages_for(cancelled)[0].text
    delivered = OrderEvent(event_type=OrderEventType.ORDER_DELIVERED, order_id=77)
    assert messages_for(delivered)[0].subject == "Order #77 delivered"


def test_events_without_a_template_send_nothing() -> None:
    assert messages_for(_payment(PaymentEventType.PAYMENT_PROCESSING)) == []
    assert messages_for(OrderEvent(event_type=OrderEventType.ORDER_PREPARING, order_id=1)) == []


def _bare_event(event_type: str) -> AnyEvent:
    """An event of that type with nothing but its orderId."""
    if event_type in PaymentEventType.__members__:
        return PaymentEvent(event_type=PaymentEventType(event_type), order_id=1)
    if event_type in OrderEventType.__members__:
        return OrderEvent(event_type=OrderEventType(event_type), order_id=1)
    return DeliveryEvent(event_type=DeliveryEventType(event_type), order_id=1)


@pytest.mark.parametrize("event_type", sorted(TEMPLATES))
def test_every_template_renders_from_a_bare_event(event_type: str) -> None:
    subject, text = render(TEMPLATES[event_type], fields_for(_bare_event(event_type)))
    assert "{" not in subject + text
    assert "#1" in subject + text


def test_every_consumed_topic_has_a_template_and_every_template_a_topic() -> None:
    consumed = {BY_NAME[t].event_type for t in TOPICS}
    assert consumed == set(TEMPLATES)


# --- the service on a SQLite file ------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> NotificationService:
    engine = create_engine_for(sqlite_url(tmp_path / "notification.db"))
    create_schema(engine, metadata)
    return NotificationService(engine)


def test_a_redelivered_event_sends_nothing_twice(service: NotificationService) -> None:
    event = _payment(PaymentEventType.PAYMENT_COMPLETED, amount_minor=2599, currency="usd")
    assert service.notify(event) == 3
    assert service.notify(event) == 0
    sent = service.notifications(order_id=77)
    assert sorted(n.channel for n in sent) == ["EMAIL", "PUSH", "SMS"]
    assert {(n.event_id, n.user_id) for n in sent} == {(str(event.event_id), 5)}


def test_the_recipient_of_a_delivery_event_is_learned_from_the_order(
    service: NotificationService,
) -> None:
    service.notify(_payment(PaymentEventType.PAYMENT_COMPLETED, amount_minor=100, currency="usd"))
    service.notify(
        DeliveryEvent(event_type=DeliveryEventType.DELIVERY_ASSIGNED, order_id=77, agent_id="a-1")
    )
    service.notify(DeliveryEvent(event_type=DeliveryEventType.DELIVERY_ASSIGNED, order_id=78))
    [newest] = service.notifications(order_id=77, limit=1)
    assert (newest.template, newest.user_id) == ("courier-assigned", 5)
    [unknown] = service.notifications(order_id=78)
    assert unknown.user_id is None
    assert [n.order_id for n in service.notifications(user_id=5)] == [77, 77, 77, 77]


def test_list_notifications_reads_a_store_by_url_newest_first(
    service: NotificationService, tmp_path: Path
) -> None:
    for minor in (100, 200):
        service.notify(
            _payment(PaymentEventType.PAYMENT_REFUNDED, refund_amount_minor=minor, currency="usd")
        )
    url = sqlite_url(tmp_path / "notification.db")
    listed = list_notifications(url, order_id=77, limit=10)
    assert [n.subject for n in listed] == [
        "Refund of 2.00 USD for order #77",
        "Refund of 1.00 USD for order #77",
    ]
    assert list_notifications(url, order_id=999) == []
    assert list_notifications(sqlite_url(tmp_path / "empty.db")) == []
    assert listed[0].view()["text"].startswith("We have refunded 2.00 USD")
