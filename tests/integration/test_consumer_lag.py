"""Consumer lag, measured against a real group that reads part of a topic and commits.

The topic is the test's own, with records put on chosen partitions, so the expected lag
of each partition is known exactly.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client import REGISTRY

from paysim.bus.admin import ensure_topics
from paysim.observe.lag import PartitionLag, consumer_lag, export_lag, lag_frame, lag_worker
from paysim.topics import Topic

pytestmark = pytest.mark.integration

DEADLINE_S = 20.0


def _put(bootstrap_servers: str, topic: str, counts: dict[int, int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap_servers, "acks": "all"})
    for partition, count in counts.items():
        for i in range(count):
            producer.produce(topic, key=f"{partition}-{i}", value=b"{}", partition=partition)
    assert producer.flush(30) == 0


def _filled_topic(bootstrap_servers: str, counts: dict[int, int]) -> str:
    """A topic of the test's own, one partition per key of ``counts``, each holding that
    many records."""
    topic = f"paysim-test-lag-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap_servers, [Topic(topic, "payment", partitions=len(counts))])
    _put(bootstrap_servers, topic, counts)
    return topic


@pytest.fixture
def group_consumer(bootstrap_servers: str) -> Iterator[tuple[str, Consumer]]:
    group = f"paysim-test-lag-{uuid.uuid4().hex[:10]}"
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    yield group, consumer
    consumer.close()


def _consume_and_commit(consumer: Consumer, topic: str, upto: dict[int, int]) -> None:
    """Read each partition up to (not including) the offset given, then commit there."""
    consumer.assign([TopicPartition(topic, p, 0) for p in upto])
    remaining = {p: end for p, end in upto.items() if end > 0}
    deadline = time.monotonic() + DEADLINE_S
    while remaining and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        partition, offset = msg.partition(), msg.offset()
        if partition in remaining and offset is not None and offset + 1 >= remaining[partition]:
            del remaining[partition]
    assert not remaining, f"could not read up to {remaining}"
    consumer.commit(
        offsets=[TopicPartition(topic, p, end) for p, end in upto.items() if end > 0],
        asynchronous=False,
    )
    consumer.unassign()


def _until(measure: Callable[[], Any], expected: Any) -> None:
    """Poll with a deadline until the measurement equals what is expected."""
    deadline = time.monotonic() + DEADLINE_S
    while (seen := measure()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen == expected


def _lags(bootstrap_servers: str, group: str) -> dict[int, tuple[int | None, int, int]]:
    return {
        lag.partition: (lag.committed, lag.high, lag.lag)
        for lag in consumer_lag(bootstrap_servers, [group], timeout_s=10)
    }


def test_lag_is_what_the_group_left_and_follows_production_and_consumption(
    bootstrap_servers: str, group_consumer: tuple[str, Consumer]
) -> None:
    group, consumer = group_consumer
    topic = _filled_topic(bootstrap_servers, {0: 10, 1: 6, 2: 3})

    # Partition 0 read in part, 1 read to the end, 2 not read at all (no commit yet).
    _consume_and_commit(consumer, topic, {0: 4, 1: 6})
    _until(lambda: _lags(bootstrap_servers, group), {0: (4, 10, 6), 1: (6, 6, 0), 2: (None, 3, 3)})

    _put(bootstrap_servers, topic, {1: 5})
    _until(lambda: _lags(bootstrap_servers, group), {0: (4, 10, 6), 1: (6, 11, 5), 2: (None, 3, 3)})

    _consume_and_commit(consumer, topic, {0: 10, 1: 11, 2: 3})
    _until(lambda: _lags(bootstrap_servers, group), {0: (10, 10, 0), 1: (11, 11, 0), 2: (3, 3, 0)})

    frame = lag_frame(bootstrap_servers, [group])
    assert list(frame.columns) == ["group", "topic", "partition", "committed", "low", "high", "lag"]
    assert frame["lag"].tolist() == [0, 0, 0]
    assert str(frame["committed"].dtype) == "Int64"


def test_named_topics_count_in_full_before_the_first_commit(bootstrap_servers: str) -> None:
    topic = _filled_topic(bootstrap_servers, {0: 2, 1: 1})
    group = f"paysim-test-lag-never-{uuid.uuid4().hex[:10]}"

    expected = [
        PartitionLag(group, topic, 0, None, 0, 2, 2),
        PartitionLag(group, topic, 1, None, 0, 1, 1),
    ]
    assert consumer_lag(bootstrap_servers, [group]) == []
    assert consumer_lag(bootstrap_servers, [group], topics=[topic]) == expected


def test_a_named_topic_counts_in_full_before_the_first_commit(bootstrap_servers: str) -> None:
    topic = _filled_topic(bootstrap_servers, {0: 2, 1: 1})
    group = f"paysim-test-lag-new-{uuid.uuid4().hex[:10]}"
    _until(
        lambda: [
            (x.partition, x.committed, x.lag)
            for x in consumer_lag(bootstrap_servers, [group], topics=[topic])
        ],
        [(0, None, 2), (1, None, 1)],
    )


def _gauge(group: str, topic: str, partition: int) -> float | None:
    labels = {"group": group, "topic": topic, "partition": str(partition)}
    return REGISTRY.get_sample_value("payment_consumer_lag", labels)


def test_export_and_worker_set_the_lag_gauge(
    bootstrap_servers: str, group_consumer: tuple[str, Consumer]
) -> None:
    group, consumer = group_consumer
    topic = _filled_topic(bootstrap_servers, {0: 7})
    _consume_and_commit(consumer, topic, {0: 2})

    export_lag(bootstrap_servers, [group])
    assert _gauge(group, topic, 0) == 5.0

    stop = threading.Event()
    worker = threading.Thread(target=lag_worker(bootstrap_servers, [group], 0.2), args=(stop,))
    worker.start()
    try:
        _put(bootstrap_servers, topic, {0: 3})
        _until(lambda: _gauge(group, topic, 0), 8.0)
    finally:
        stop.set()
        worker.join(timeout=15)
    assert not worker.is_alive()
