"""The baseline: raw confluent-kafka consume → produce of plan-shaped records.

One process, one consumer taking batches (``consume(num_messages, timeout)``), one
producer with a short linger, on the same broker as everything else in the run. What
the order service's hot path is compared with: the most a Python process can move
through this broker when it does nothing with the records.
"""

from __future__ import annotations

import time
from uuid import uuid4

from confluent_kafka import Consumer, Producer

from paysim.bench.figures import Throughput
from paysim.bench.plan_events import (
    CLIENT_LOGS,
    PRODUCER_CONFIG,
    fresh_topic,
    plan_records,
    preload,
    produce,
)
from paysim.errors import InfraError

BATCH = 1_000
CONSUME_TIMEOUT_S = 0.5
RELAY_TIMEOUT_S = 300.0


def measure(bootstrap_servers: str, records: int) -> Throughput:
    """Preload ``records`` into a fresh topic, then relay them all to another one; the
    time runs from the first record consumed to the last one the broker acknowledged."""
    source = fresh_topic(bootstrap_servers, "raw-in")
    target = fresh_topic(bootstrap_servers, "raw-out")
    preload(bootstrap_servers, source, list(plan_records(records)))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"bench-raw-{uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            **CLIENT_LOGS,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap_servers, **PRODUCER_CONFIG})
    consumer.subscribe([source])
    moved, started = 0, 0.0
    deadline = time.monotonic() + RELAY_TIMEOUT_S
    try:
        while moved < records:
            if time.monotonic() > deadline:
                raise InfraError(f"raw relay moved {moved} of {records} records in time")
            batch = consumer.consume(BATCH, CONSUME_TIMEOUT_S)
            if not batch:
                continue
            if not started:
                started = time.monotonic()
            for msg in batch:
                if msg.error() is not None:
                    continue
                produce(producer, target, msg.value(), msg.key())
                moved += 1
            producer.poll(0)
        if producer.flush(RELAY_TIMEOUT_S):
            raise InfraError("raw relay: the broker did not acknowledge every record")
        return Throughput(moved, time.monotonic() - started)
    finally:
        consumer.close()
