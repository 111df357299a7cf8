"""Dead letters: records that could not be handled, parked with the reason, replayable.

A dead letter keeps the original key and value untouched and says where it came from
in headers, so ``paysim dlq replay`` can send it back to its topic byte for byte.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from paysim.bus.producer import EventProducer
from paysim.bus.reader import Record
from paysim.errors import TransientError
from paysim.topics import dead_letter_topic

log = logging.getLogger(__name__)

ORIGINAL_TOPIC = "dlq.original.topic"
ORIGINAL_PARTITION = "dlq.original.partition"
ORIGINAL_OFFSET = "dlq.original.offset"
ERROR_CLASS = "dlq.error.class"
ERROR_MESSAGE = "dlq.error.message"
ATTEMPTS = "dlq.attempts"
CONSUMER_GROUP = "dlq.consumer.group"
FAILED_AT = "dlq.failed.at"
REPLAYED_FROM = "dlq.replayed.from"

DELIVERY_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A dead-letter record, read back with its provenance."""

    record: Record
    original_topic: str
    original_partition: int
    original_offset: int
    error_class: str
    error_message: str
    attempts: int
    consumer_group: str
    failed_at: str

    @classmethod
    def from_record(cls, record: Record) -> DeadLetter:
        h = record.headers
        return cls(
            record=record,
            original_topic=h.get(ORIGINAL_TOPIC, ""),
            original_partition=int(h.get(ORIGINAL_PARTITION, "-1")),
            original_offset=int(h.get(ORIGINAL_OFFSET, "-1")),
            error_class=h.get(ERROR_CLASS, ""),
            error_message=h.get(ERROR_MESSAGE, ""),
            attempts=int(h.get(ATTEMPTS, "0")),
            consumer_group=h.get(CONSUMER_GROUP, ""),
            failed_at=h.get(FAILED_AT, ""),
        )


class DeadLetterWriter:
    """Sends failed records to their family's dead-letter topic and waits for the ack."""

    def __init__(self, producer: EventProducer) -> None:
        self._producer = producer

    def send(self, record: Record, error: BaseException, attempts: int, group: str) -> str:
        """Park the record; returns the dead-letter topic. Raises if the broker did not ack.

        The caller stores the source offset only after this returns: a dead letter that
        was not acknowledged must not let the source record be skipped.
        """
        topic = dead_letter_topic(record.topic)
        headers = {
            **{k: v for k, v in record.headers.items() if not k.startswith("dlq.")},
            ORIGINAL_TOPIC: record.topic,
            ORIGINAL_PARTITION: str(record.partition),
            ORIGINAL_OFFSET: str(record.offset),
            ERROR_CLASS: type(error).__name__,
            ERROR_MESSAGE: str(error)[:2000],
            ATTEMPTS: str(attempts),
            CONSUMER_GROUP: group,
            FAILED_AT: datetime.now(UTC).isoformat(),
        }
        failures: list[Exception] = []
        self._producer.publish(
            topic,
            record.key or "",
            record.value or b"",
            headers,
            lambda err: failures.append(err) if err else None,
        )
        if self._producer.flush(DELIVERY_TIMEOUT_S) or failures:
            raise TransientError(f"dead letter to {topic} not acknowledged: {failures[:1]}")
        log.warning(
            "dead-lettered %s[%s]@%s to %s after %d attempt(s): %s: %s",
            record.topic,
            record.partition,
            record.offset,
            topic,
            attempts,
            type(error).__name__,
            error,
        )
        return topic
