"""Read what is on a topic right now, from the beginning, without joining a group.

For demos, tests, notebooks and reports: partitions are assigned directly and read up
to the high watermark seen at the start, so the call ends by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from paysim.codec import decode_event
from paysim.domain.events import AnyEvent

READ_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record as it was stored."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    timestamp_ms: int = 0

    def event(self) -> AnyEvent:
        return decode_event(self.value)


def _text(raw: str | bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


def to_record(msg: Message) -> Record:
    """Copy a consumed message into a plain, immutable record."""
    value = msg.value()
    raw_headers = msg.headers() or []
    pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
    return Record(
        topic=msg.topic() or "",
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        key=_text(msg.key()),
        value=value.encode() if isinstance(value, str) else value,
        headers={k: _text(v) or "" for k, v in pairs},
        timestamp_ms=msg.timestamp()[1],
    )


def wait_for_records(
    bootstrap_servers: str,
    topics: Iterable[str],
    match: Callable[[Record], bool],
    *,
    count: int = 1,
    timeout_s: float = READ_TIMEOUT_S,
) -> list[Record]:
    """Poll until at least ``count`` records match (or fail with what was seen)."""
    wanted = list(topics)
    deadline = time.monotonic() + timeout_s
    while True:
        found = [r for r in read_records(bootstrap_servers, wanted) if match(r)]
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if len(found) < count:
        raise TimeoutError(
            f"{len(found)} of {count} matching records on {wanted} after {timeout_s}s"
        )
    return found


def read_records(
    bootstrap_servers: str, topics: Iterable[str], timeout_s: float = READ_TIMEOUT_S
) -> list[Record]:
    """Every record on the topics up to their current end, in (topic, partition, offset)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "paysim-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "logger": logging.getLogger("paysim.librdkafka"),
        }
    )
    try:
        return _read(consumer, list(topics), timeout_s)
    finally:
        consumer.close()


_LEADER_MOVING = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)


def _watermarks(consumer: Consumer, partition: TopicPartition, timeout_s: float) -> tuple[int, int]:
    """The partition's low and high offsets, asked again while its leader is moving.

    A partition just created (or whose broker just restarted) answers "not leader" for a
    moment; that is retriable, and a reader meant to end by itself should not fail on it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=timeout_s)
            return int(low), int(high)
        except KafkaException as exc:
            error = exc.args[0]
            moving = error.retriable() or error.code() in _LEADER_MOVING
            if not moving or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _read(consumer: Consumer, topics: list[str], timeout_s: float) -> list[Record]:
    metadata = consumer.list_topics(timeout=timeout_s)
    ends: dict[tuple[str, int], int] = {}
    assignment = []
    for topic in topics:
        for partition in metadata.topics[topic].partitions:
            low, high = _watermarks(consumer, TopicPartition(topic, partition), timeout_s)
            if high > low:
                ends[(topic, partition)] = high
                assignment.append(TopicPartition(topic, partition, low))
    if not assignment:
        return []
    consumer.assign(assignment)
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while ends and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        record = to_record(msg)
        where = (record.topic, record.partition)
        if where not in ends:
            continue
        records.append(record)
        if record.offset + 1 >= ends[where]:
            del ends[where]
    if ends:
        raise TimeoutError(f"could not read to the end of {sorted(ends)} within {timeout_s}s")
    return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))
