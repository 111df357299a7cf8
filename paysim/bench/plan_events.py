"""Plan-shaped events for the benchmark: what the payment service really publishes.

Each order gets its PAYMENT_INITIATED (the order service creates the order,
PAYMENT_PENDING) then its PAYMENT_COMPLETED (the order moves to PENDING and owes an
outbox row), keyed by orderId and serialized by :mod:`paysim.codec`, as the payment
service's relay would write them. Preloaded into a topic of the benchmark's own, so the
handler under test does the real work of a saga's first two hops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from uuid import uuid4

from confluent_kafka import Producer

from paysim.bus.admin import ensure_topics
from paysim.codec import encode_event
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.status import PaymentStatus
from paysim.errors import InfraError
from paysim.topics import Topic

PARTITIONS = 3
PRELOAD_TIMEOUT_S = 300.0
CLIENT_LOGS = {"logger": logging.getLogger("paysim.librdkafka")}
PRODUCER_CONFIG = {"linger.ms": 5, "batch.num.messages": 10_000, **CLIENT_LOGS}
"""A loader's producer: batched, as a relay publishing a backlog would be."""


def payment_events(order_id: int) -> tuple[PaymentEvent, PaymentEvent]:
    """One order's first two events: its payment initiated, then completed."""
    common: dict[str, object] = {
        "order_id": order_id,
        "payment_id": order_id,
        "user_id": 1 + order_id % 500,
        "amount_minor": 1_000 + order_id % 7_000,
        "currency": "usd",
        "stripe_payment_intent_id": f"pi_bench_{order_id}",
    }
    initiated = PaymentEvent.model_validate(
        {"event_type": PaymentEventType.PAYMENT_INITIATED, "status": PaymentStatus.PENDING} | common
    )
    completed = PaymentEvent.model_validate(
        {
            "event_type": PaymentEventType.PAYMENT_COMPLETED,
            "status": PaymentStatus.COMPLETED,
            "previous_status": PaymentStatus.PROCESSING,
            "stripe_charge_id": f"ch_bench_{order_id}",
            "attempt": 1,
        }
        | common
    )
    return initiated, completed


def plan_records(count: int, first_order_id: int = 1) -> Iterator[tuple[bytes, bytes]]:
    """``count`` records (key, value), two per order, each order's in its order."""
    order_id = first_order_id
    made = 0
    while made < count:
        for event in payment_events(order_id):
            if made == count:
                return
            yield str(order_id).encode(), encode_event(event)
            made += 1
        order_id += 1


def fresh_topic(bootstrap_servers: str, prefix: str) -> str:
    """A new topic of the benchmark's own (unique per call, so repetitions never mix)."""
    name = f"bench-{prefix}-{uuid4().hex[:8]}"
    ensure_topics(bootstrap_servers, [Topic(name, "payment", partitions=PARTITIONS)])
    return name


def preload(bootstrap_servers: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Write ``records`` to ``topic`` and wait until the broker has every one."""
    producer = Producer({"bootstrap.servers": bootstrap_servers, **PRODUCER_CONFIG})
    deadline = time.monotonic() + PRELOAD_TIMEOUT_S
    for key, value in records:
        produce(producer, topic, value, key)
        if time.monotonic() > deadline:
            raise InfraError(f"preloading {topic} took over {PRELOAD_TIMEOUT_S:.0f} s")
    left = producer.flush(max(1.0, deadline - time.monotonic()))
    if left:
        raise InfraError(f"{left} records for {topic} were not delivered in time")


def produce(producer: Producer, topic: str, value: bytes | None, key: bytes | None) -> None:
    """Produce one record, waiting for room when the local queue is full."""
    while True:
        try:
            producer.produce(topic, value, key)
            producer.poll(0)
            return
        except BufferError:  # let deliveries drain the queue
            producer.poll(0.05)
