"""Topics as DataFrames and one order's audit trail, read from the real broker.

``topic_frame`` runs over a topic of the test's own (so a poison record there bothers no
consumer). ``audit_trail`` has to read the catalog's topics: its events belong to a random
large orderId and go only where no service listens (their own topics, and the
``order-events`` catch-all), so no running service reacts and adds to the order's trail.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from paysim.bus.admin import ensure_topics
from paysim.bus.producer import EventProducer
from paysim.bus.reader import wait_for_records
from paysim.codec import encode_event
from paysim.domain.events import (
    AnyEvent,
    DeliveryEventType,
    OrderEvent,
    OrderEventType,
    PaymentEventType,
)
from paysim.domain.status import PaymentStatus
from paysim.observe.frames import LEADING_COLUMNS, OWN_TOPICS, audit_trail, topic_frame
from paysim.topics import Topic, destinations
from tests.builders import make_event

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC).replace(microsecond=0)


def _order_id() -> int:
    return random.randint(10**11, 10**12)


def _publish(producer: EventProducer, topic: str, events: list[AnyEvent]) -> None:
    for event in events:
        headers = {"eventType": event.event_type.value, "eventId": str(event.event_id)}
        producer.publish(topic, str(event.order_id), encode_event(event), headers)
    assert producer.flush(30) == 0


def test_topic_frame_has_one_row_per_record_and_an_error_row_for_poison(
    bootstrap_servers: str,
) -> None:
    topic = f"paysim-test-frames-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap_servers, [Topic(topic, "payment")])
    mine, other = _order_id(), _order_id()
    events: list[AnyEvent] = [
        make_event(
            PaymentEventType.PAYMENT_COMPLETED,
            mine,
            payment_id=mine + 1,
            amount_minor=2599,
            currency="usd",
            status=PaymentStatus.COMPLETED,
            previous_status=PaymentStatus.PROCESSING,
            stripe_payment_intent_id="pi_123",
            timestamp=T0,
        ),
        make_event(
            PaymentEventType.PAYMENT_INITIATED,
            other,
            amount_minor=1000,
            currency="jpy",
            timestamp=T0,
        ),
    ]
    producer = EventProducer(bootstrap_servers)
    _publish(producer, topic, events)
    producer.publish(topic, str(mine), b"{not json", {"eventType": "PAYMENT_FAILED"})
    producer.close()
    wait_for_records(bootstrap_servers, [topic], lambda _r: True, count=3)

    frame = topic_frame(bootstrap_servers, [topic])
    assert len(frame) == 3
    assert list(frame.columns[: len(LEADING_COLUMNS)]) == LEADING_COLUMNS
    assert isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype)
    assert str(frame["timestamp"].dtype.tz) == "UTC"

    rows = frame.set_index("eventId", drop=False)
    completed = rows.loc[str(events[0].event_id)]
    assert (completed["topic"], completed["key"]) == (topic, str(mine))
    assert completed["timestamp"] == pd.Timestamp(T0)
    assert (completed["orderId"], completed["paymentId"]) == (mine, mine + 1)
    assert (completed["status"], completed["previousStatus"]) == ("COMPLETED", "PROCESSING")
    # Exact decimal strings, never floats; zero-decimal currencies have no fraction.
    assert (completed["amount"], completed["currency"]) == ("25.99", "usd")
    assert rows.loc[str(events[1].event_id), "amount"] == "1000"
    assert completed["stripePaymentIntentId"] == "pi_123"
    assert pd.isna(completed["error"])
    assert str(frame["orderId"].dtype) == "Int64"

    (poison,) = frame[frame["error"].notna()].itertuples()
    assert poison.key == str(mine)
    assert poison.eventType == "PAYMENT_FAILED"
    assert "not JSON" in poison.error
    assert pd.isna(poison.orderId)

    only_mine = topic_frame(bootstrap_servers, [topic], order_id=mine)
    assert len(only_mine) == 2
    assert set(only_mine["key"]) == {str(mine)}


def test_audit_trail_is_one_orders_events_across_families_by_time(
    bootstrap_servers: str,
) -> None:
    order_id = _order_id()
    at = [T0 + timedelta(milliseconds=ms) for ms in (0, 30, 60, 90, 120)]
    # Published out of time order, on purpose: the trail sorts by event time.
    events: list[AnyEvent] = [
        make_event(DeliveryEventType.DELIVERY_IN_TRANSIT, order_id, timestamp=at[4]),
        make_event(
            PaymentEventType.PAYMENT_INITIATED,
            order_id,
            amount_minor=1250,
            currency="eur",
            timestamp=at[0],
        ),
        make_event(
            OrderEventType.ORDER_PREPARING,
            order_id,
            total_amount_minor=1250,
            currency="eur",
            timestamp=at[1],
        ),
        make_event(PaymentEventType.PAYMENT_PROCESSING, order_id, timestamp=at[2]),
        make_event(DeliveryEventType.DELIVERY_PICKED_UP, order_id, timestamp=at[3]),
    ]
    producer = EventProducer(bootstrap_servers)
    for event in events:
        if isinstance(event, OrderEvent):
            # Own topic and the order-events catch-all: the trail must show it once.
            producer.publish_event(event)
        else:
            own_topic = destinations(event.event_type.value)[0]
            _publish(producer, own_topic, [event])
    assert producer.flush(30) == 0
    own = [destinations(e.event_type.value)[0] for e in events]
    wait_for_records(bootstrap_servers, own, lambda r: r.key == str(order_id), count=len(events))
    wait_for_records(bootstrap_servers, ["order-events"], lambda r: r.key == str(order_id))

    trail = audit_trail(bootstrap_servers, order_id)
    # Each event once: the catch-all copies are not read.
    assert trail["eventType"].tolist() == [
        "PAYMENT_INITIATED",
        "ORDER_PREPARING",
        "PAYMENT_PROCESSING",
        "DELIVERY_PICKED_UP",
        "DELIVERY_IN_TRANSIT",
    ]
    assert trail["source"].tolist() == [
        "payment-service",
        "order-service",
        "payment-service",
        "delivery-service",
        "delivery-service",
    ]
    assert set(trail["topic"]) <= set(OWN_TOPICS)
    assert set(trail["orderId"]) == {order_id}
    assert trail["timestamp"].is_monotonic_increasing
    assert trail.loc[trail["eventType"] == "ORDER_PREPARING", "totalAmount"].item() == "12.50"
