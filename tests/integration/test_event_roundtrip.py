import random
from collections import defaultdict

from paysim.bus.producer import EventProducer
from paysim.bus.reader import read_records
from paysim.domain.events import (
    AnyEvent,
    DeliveryEvent,
    DeliveryEventType,
    OrderEvent,
    OrderEventType,
)
from paysim.sim.event_roundtrip import publish_and_read_back, sample_payment_events
from paysim.topics import destinations


def _events_for(order_id: int) -> list[AnyEvent]:
    events: list[AnyEvent] = list(sample_payment_events(order_id))
    events += [
        OrderEvent(event_type=t, order_id=order_id, total_amount_minor=2599, currency="usd")
        for t in OrderEventType
    ]
    events += [
        DeliveryEvent(event_type=t, order_id=order_id, agent_id="a-1") for t in DeliveryEventType
    ]
    return events


def test_every_event_type_round_trips_keyed_by_order_id(bootstrap_servers: str) -> None:
    order_ids = random.sample(range(1, 10**9), 4)
    sent = {str(e.event_id): e for oid in order_ids for e in _events_for(oid)}
    producer = EventProducer(bootstrap_servers)
    errors: list[Exception] = []
    for event in sent.values():
        producer.publish_event(event, lambda err: errors.append(err) if err else None)
    assert producer.flush(30) == 0
    assert errors == []

    topics = sorted({t for e in sent.values() for t in destinations(e.event_type.value)})
    records = [
        r for r in read_records(bootstrap_servers, topics) if r.headers.get("eventId") in sent
    ]
    # Each event lands twice: its own topic and its family's catch-all.
    assert len(records) == 2 * len(sent)

    partitions_by_key: dict[tuple[str, str], set[int]] = defaultdict(set)
    for record in records:
        original = sent[record.headers["eventId"]]
        assert record.key == str(original.order_id)
        assert record.topic in destinations(original.event_type.value)
        assert record.event() == original
        assert record.headers["eventType"] == original.event_type.value
        partitions_by_key[(record.topic, record.key)].add(record.partition)
    assert all(len(p) == 1 for p in partitions_by_key.values()), partitions_by_key


def test_one_orders_events_keep_their_order_on_the_catch_all_topic(
    bootstrap_servers: str,
) -> None:
    order_id = random.randint(1, 10**9)
    events = sample_payment_events(order_id)
    publish_and_read_back(bootstrap_servers, events)
    ids = {str(e.event_id) for e in events}
    mine = [
        r
        for r in read_records(bootstrap_servers, ["payment-events"])
        if r.headers.get("eventId") in ids
    ]
    assert len({r.partition for r in mine}) == 1
    in_offset_order = [r.event().event_id for r in sorted(mine, key=lambda r: r.offset)]
    assert in_offset_order == [e.event_id for e in events]
