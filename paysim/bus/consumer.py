"""The consumer loop every service runs: decode, handle, retry, dead-letter, store offset.

Delivery semantics, decided here:
- Offsets are stored (``enable.auto.offset.store=false``) only after the handler has
  returned, i.e. after its database transaction committed; a crash before that means
  redelivery, which the handler's processed-event row turns into a no-op.
- Stored offsets are committed in the background, synchronously on partition revoke
  and on shutdown, so a rebalance or a clean stop replays nothing.
- A transient failure is retried in place with exponential backoff, a bounded number
  of times. In place, not via a retry topic, because one order's events must be handled
  in their order; the bound keeps a partition from being blocked forever. What still
  fails, and every permanent failure or undecodable record, goes to the dead-letter
  topic, and the partition moves on.
- No poll happens while a record is handled, so a record's whole budget (every attempt
  at its declared limit, every backoff, its dead letter) must stay below
  ``max.poll.interval.ms``, or the member is evicted mid-record and its partitions'
  records redelivered. The consumer sets that interval to twice the budget (never
  below librdkafka's default) and refuses an override that leaves less.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from paysim import metrics
from paysim.bus.dead_letters import DELIVERY_TIMEOUT_S, DeadLetterWriter
from paysim.bus.reader import Record, to_record
from paysim.codec import decode_event
from paysim.domain.events import AnyEvent
from paysim.errors import PermanentError

log = logging.getLogger(__name__)

Handler = Callable[[AnyEvent, Record], None]
"""Handles one decoded event; raises to fail it (PermanentError: no retry)."""

ConsumerFactory = Callable[[dict[str, Any]], Consumer]
"""Builds the Kafka consumer from its configuration (tests pass a fake)."""


DEFAULT_MAX_POLL_INTERVAL_MS = 300_000
"""librdkafka's own default; a consumer with a larger retry budget gets a larger one."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff for transient handler failures.

    ``attempt_limit_s`` is the longest one attempt of the handler can take: for a handler
    that writes one SQLite transaction, the store's busy timeout (the wait for the write
    lock); a handler that also calls out declares its calls' limits too.
    """

    max_attempts: int = 4
    initial_backoff_s: float = 0.1
    multiplier: float = 2.0
    max_backoff_s: float = 2.0
    attempt_limit_s: float = 30.0

    def backoff_s(self, failed_attempt: int) -> float:
        return min(
            self.initial_backoff_s * self.multiplier ** (failed_attempt - 1), self.max_backoff_s
        )

    def worst_case_s(self) -> float:
        """One record's longest stay: every attempt at its limit, the backoffs between
        them, and the delivery of its dead letter."""
        backoffs = sum(self.backoff_s(n) for n in range(1, self.max_attempts))
        return self.max_attempts * self.attempt_limit_s + backoffs + DELIVERY_TIMEOUT_S

    def max_poll_interval_ms(self) -> int:
        """Twice the worst case, and never below librdkafka's default."""
        return max(DEFAULT_MAX_POLL_INTERVAL_MS, math.ceil(2 * self.worst_case_s() * 1000))


class EventConsumer:
    """One consumer in a group, running a handler over a set of topics."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        topics: Iterable[str],
        handler: Handler,
        dead_letters: DeadLetterWriter,
        *,
        retry: RetryPolicy = RetryPolicy(),
        poll_timeout_s: float = 0.25,
        overrides: Mapping[str, Any] | None = None,
        consumer_factory: ConsumerFactory = Consumer,
    ) -> None:
        self.group_id = group_id
        self.topics = list(topics)
        self._handler = handler
        self._dead_letters = dead_letters
        self._retry = retry
        self._poll_timeout_s = poll_timeout_s
        self._consumer_factory = consumer_factory
        self._config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "client.id": f"{group_id}-consumer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": 500,
            "session.timeout.ms": 10_000,
            "max.poll.interval.ms": retry.max_poll_interval_ms(),
            "logger": logging.getLogger("paysim.librdkafka"),
            **(overrides or {}),
        }
        worst_s, interval_s = retry.worst_case_s(), self._config["max.poll.interval.ms"] / 1000
        if 2 * worst_s > interval_s:
            raise ValueError(
                f"{group_id}: one record may take {worst_s:.1f} s to handle or dead-letter, "
                f"more than half of max.poll.interval.ms ({interval_s:g} s): the member "
                "would be evicted mid-record and its records redelivered"
            )

    def run(self, stop: threading.Event, ready: threading.Event | None = None) -> None:
        """Consume until ``stop`` is set; then commit, leave the group and close."""
        consumer = self._consumer_factory(self._config)

        def on_assign(_consumer: Consumer, partitions: list[TopicPartition]) -> None:
            log.info("%s assigned %s", self.group_id, [(p.topic, p.partition) for p in partitions])
            if ready is not None:
                ready.set()

        def on_revoke(revoking: Consumer, _partitions: list[TopicPartition]) -> None:
            self._commit(revoking)

        consumer.subscribe(self.topics, on_assign=on_assign, on_revoke=on_revoke)
        try:
            while not stop.is_set():
                msg = consumer.poll(self._poll_timeout_s)
                if msg is None:
                    continue
                if msg.error() is not None:
                    self._log_error(msg)
                    continue
                if self.process(msg, stop):
                    consumer.store_offsets(message=msg)
        finally:
            self._commit(consumer)
            # close() leaves the group at once, so the partitions move without waiting
            # for the session timeout.
            consumer.close()

    def process(self, msg: Message, stop: threading.Event) -> bool:
        """Handle one record: success, or a dead letter. True when its offset may move.

        False only when shutting down with the record neither handled nor parked: it is
        left uncommitted, for whichever consumer gets the partition next.
        """
        record = to_record(msg)
        started = time.monotonic()
        event_type = record.headers.get("eventType", "UNKNOWN")
        attempt = 0
        while True:
            attempt += 1
            try:
                event = decode_event(record.value)
                event_type = event.event_type.value
                self._handler(event, record)
            except Exception as exc:  # every failure is classified below
                metrics.EVENT_FAILURES.labels(self.group_id, event_type, type(exc).__name__).inc()
                if isinstance(exc, PermanentError) or attempt >= self._retry.max_attempts:
                    done = self._dead_letter(record, exc, attempt, event_type, stop)
                    break
                if stop.is_set():
                    done = False
                    break
                log.warning(
                    "%s: attempt %d on %s@%s failed (%s: %s); retrying",
                    self.group_id,
                    attempt,
                    record.topic,
                    record.offset,
                    type(exc).__name__,
                    exc,
                )
                metrics.EVENT_RETRIES.labels(self.group_id, event_type).inc()
                stop.wait(self._retry.backoff_s(attempt))
            else:
                metrics.EVENTS_CONSUMED.labels(self.group_id, event_type, "handled").inc()
                done = True
                break
        metrics.PROCESSING_SECONDS.labels(self.group_id, event_type).observe(
            time.monotonic() - started
        )
        return done

    def _dead_letter(
        self,
        record: Record,
        exc: Exception,
        attempts: int,
        event_type: str,
        stop: threading.Event,
    ) -> bool:
        """Park the record; False if shutting down before the broker acknowledged it."""
        while True:
            try:
                self._dead_letters.send(record, exc, attempts, self.group_id)
                break
            except Exception:
                # Never skip a record whose dead letter was not acknowledged.
                log.exception(
                    "%s: could not dead-letter %s@%s; trying again",
                    self.group_id,
                    record.topic,
                    record.offset,
                )
                if stop.wait(1.0):
                    return False
        metrics.DEAD_LETTERS.labels(self.group_id, record.topic).inc()
        metrics.EVENTS_CONSUMED.labels(self.group_id, event_type, "dead_lettered").inc()
        return True

    def _commit(self, consumer: Consumer) -> None:
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("%s: commit failed: %s", self.group_id, exc.args[0].str())

    def _log_error(self, msg: Message) -> None:
        err = msg.error()
        if err is not None and err.code() != KafkaError._PARTITION_EOF:
            log.warning("%s: consumer error: %s", self.group_id, err.str())
