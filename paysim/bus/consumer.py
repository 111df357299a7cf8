"""The consumer loop every service runs: decode, handle, retry, dead-letter, store offset.

Delivery semantics, decided here:
- Records come in rounds: one waited for, then up to ``Batching.max_records`` in all of
  those already fetched behind it (``consume()`` without waiting). A consumer
  given a batch scope (a service's batch unit of work, which its tracked handlers join)
  handles a round in that one transaction and stores the round's offsets once, after
  the commit. Only when that transaction fails is it rolled back and the round handled
  again one record at a time, each record in its own transaction, so retries and dead
  letters stay per record. A consumer without a batch scope (its handler calls out, and
  an outside call does not belong in a long transaction) takes one record a round.
- Records of one partition are handled in offset order (a round spans partitions), so
  one key's events keep their order, in the batch and in the one-at-a-time fallback.
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
- No poll happens while a round is handled, so a round's whole budget must stay below
  ``max.poll.interval.ms``, or the member is evicted mid-round and its partitions'
  records redelivered. A round starts a new record only while it is within
  ``Batching.budget_s`` (its first record always starts); the records it did not start
  are sought back and come again in the next round. So a round takes at most its
  budget, plus the batch transaction's last record (one attempt), plus the last record
  of the fallback (its whole retry budget): ``Batching.worst_case_s``, independent of
  the round's size. The consumer sets the interval to twice that (never below
  librdkafka's default) and refuses an override that leaves less.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
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

BatchScope = Callable[[], AbstractContextManager[object]]
"""Opens the one transaction a round of records is handled in: entered before the first
record, left after the last; an exception inside rolls all of it back. The handlers
join it (a service's batch unit of work, which ``paysim.store.tracked`` joins)."""


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


@dataclass(frozen=True, slots=True)
class Batching:
    """How many records a round takes, how long the loop waits for a round's first
    record (then looks at its stop event again), and how long a round keeps starting
    records (see the module's docstring)."""

    max_records: int = 500
    consume_timeout_s: float = 0.1
    budget_s: float = 5.0

    def worst_case_s(self, retry: RetryPolicy, *, batched: bool) -> float:
        """A round's longest stay. Batched: the budget, the batch's last record (one
        attempt at its limit), then the fallback's last record (every attempt, every
        backoff, its dead letter). Not batched: one record, one at a time."""
        if not batched:
            return retry.worst_case_s()
        return self.budget_s + retry.attempt_limit_s + retry.worst_case_s()

    def max_poll_interval_ms(self, retry: RetryPolicy, *, batched: bool) -> int:
        """Twice the worst case, and never below librdkafka's default."""
        worst_s = self.worst_case_s(retry, batched=batched)
        return max(DEFAULT_MAX_POLL_INTERVAL_MS, math.ceil(2 * worst_s * 1000))


class EventConsumer:
    """One consumer in a group, running a handler over a set of topics.

    ``batch``: the scope a round of records is handled in as one transaction (None: one
    record a round, each in the handler's own transaction).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        topics: Iterable[str],
        handler: Handler,
        dead_letters: DeadLetterWriter,
        *,
        batch: BatchScope | None = None,
        batching: Batching = Batching(),
        retry: RetryPolicy = RetryPolicy(),
        overrides: Mapping[str, Any] | None = None,
        consumer_factory: ConsumerFactory = Consumer,
    ) -> None:
        self.group_id = group_id
        self.topics = list(topics)
        self._handler = handler
        self._dead_letters = dead_letters
        self._batch = batch
        self._batching = batching
        self._max_records = batching.max_records if batch is not None else 1
        self._retry = retry
        self._consumer_factory = consumer_factory
        batched = batch is not None
        self._config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "client.id": f"{group_id}-consumer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": 500,
            "session.timeout.ms": 10_000,
            "max.poll.interval.ms": batching.max_poll_interval_ms(retry, batched=batched),
            "logger": logging.getLogger("paysim.librdkafka"),
            **(overrides or {}),
        }
        worst_s = batching.worst_case_s(retry, batched=batched)
        interval_s = self._config["max.poll.interval.ms"] / 1000
        if 2 * worst_s > interval_s:
            raise ValueError(
                f"{group_id}: one round of records may take {worst_s:.1f} s to handle or "
                f"dead-letter, more than half of max.poll.interval.ms ({interval_s:g} s): "
                "the member would be evicted mid-round and its records redelivered"
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
                records = []
                for msg in self._take(consumer):
                    if msg.error() is not None:
                        self._log_error(msg)
                    else:
                        records.append(to_record(msg))
                if records:
                    self._round(consumer, records, stop)
        finally:
            self._commit(consumer)
            # close() leaves the group at once, so the partitions move without waiting
            # for the session timeout.
            consumer.close()

    def _take(self, consumer: Consumer) -> list[Message]:
        """The next round: wait for one record, then take what has arrived behind it.

        ``consume(n, timeout)`` alone would wait for the whole ``n`` or the timeout, so at
        a low rate every record would wait out the timeout: a latency per Kafka hop.
        """
        first = consumer.poll(self._batching.consume_timeout_s)
        if first is None:
            return []
        if self._max_records == 1:
            return [first]
        return [first, *consumer.consume(self._max_records - 1, 0)]

    def _round(self, consumer: Consumer, records: list[Record], stop: threading.Event) -> None:
        """Handle a round's records; store the offsets of those done (a prefix), and seek
        back to the rest, which come again in the next round."""
        started = time.monotonic()
        done = self._in_one_transaction(records, started) if self._batch is not None else None
        if done is None:
            done = self._one_at_a_time(records, started, stop)
        if done:
            _store_offsets(consumer, records[:done])
        if done < len(records) and not stop.is_set():
            _seek_back(consumer, records[done:])

    def _in_budget(self, started: float) -> bool:
        return time.monotonic() - started < self._batching.budget_s

    def _in_one_transaction(self, records: list[Record], started: float) -> int | None:
        """Handle records in the batch scope; how many were (a prefix), committed; None
        if the transaction failed and was rolled back."""
        assert self._batch is not None
        handled: list[str] = []
        try:
            with self._batch():
                for record in records:
                    if handled and not self._in_budget(started):
                        break
                    event = decode_event(record.value)
                    self._handler(event, record)
                    handled.append(event.event_type.value)
        except Exception as exc:  # every record of the round is tried again, alone
            log.warning(
                "%s: a batch of %d records failed (%s: %s); handling them one at a time",
                self.group_id,
                len(records),
                type(exc).__name__,
                exc,
            )
            metrics.BATCH_FALLBACKS.labels(self.group_id).inc()
            return None
        seconds = time.monotonic() - started
        for event_type in handled:
            metrics.EVENTS_CONSUMED.labels(self.group_id, event_type, "handled").inc()
            metrics.PROCESSING_SECONDS.labels(self.group_id, event_type).observe(seconds)
        return len(handled)

    def _one_at_a_time(self, records: list[Record], started: float, stop: threading.Event) -> int:
        """Handle records one by one; how many are done (a prefix)."""
        done = 0
        for record in records:
            if done and not self._in_budget(started):
                break
            if not self.process(record, stop):
                break
            done += 1
        return done

    def process(self, record: Record, stop: threading.Event) -> bool:
        """Handle one record: success, or a dead letter. True when its offset may move.

        False only when shutting down with the record neither handled nor parked: it is
        left uncommitted, for whichever consumer gets the partition next.
        """
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


def _store_offsets(consumer: Consumer, done: Sequence[Record]) -> None:
    """Store, per partition, the offset after the last record done (records come in
    offset order within a partition)."""
    after: dict[tuple[str, int], int] = {}
    for record in done:
        after[(record.topic, record.partition)] = record.offset + 1
    consumer.store_offsets(
        offsets=[
            TopicPartition(topic, partition, offset) for (topic, partition), offset in after.items()
        ]
    )


def _seek_back(consumer: Consumer, left: Sequence[Record]) -> None:
    """Rewind each partition to its first record left unhandled, so the next round
    fetches it again (and nothing after it is skipped)."""
    first: dict[tuple[str, int], int] = {}
    for record in left:
        first.setdefault((record.topic, record.partition), record.offset)
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))
