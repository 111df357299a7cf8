"""Dead letters read back, selected and replayed to the topic they came from.

Replay sends a dead letter's original key and value back to ``dlq.original.topic``
unchanged, with the original headers (every ``dlq.*`` one dropped) plus
``dlq.replayed.from`` = ``<dlq topic>:<partition>:<offset>``, so the replayed copy says
which dead letter it is.

Replaying the same dead letter twice is safe, and nothing here tries to prevent it:
every consumer is idempotent (its processed-event row, keyed by ``eventId``, is written
in the handler's own transaction), so a second copy of an event that was handled is
recorded as a duplicate and ignored. A record that fails again is dead-lettered again,
with a fresh set of ``dlq.*`` headers.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from paysim.bus.dead_letters import ORIGINAL_TOPIC, REPLAYED_FROM, DeadLetter
from paysim.bus.producer import DeliveryFailedError, EventProducer
from paysim.bus.reader import READ_TIMEOUT_S, read_records
from paysim.topics import DELIVERY_DLQ, ORDER_DLQ, PAYMENT_DLQ

log = logging.getLogger(__name__)

DLQ_TOPICS: tuple[str, ...] = (PAYMENT_DLQ, ORDER_DLQ, DELIVERY_DLQ)
"""Every dead-letter topic of the catalog, one a family."""

REPLAY_TIMEOUT_S = 30.0


def list_dead_letters(
    bootstrap_servers: str,
    topics: Iterable[str] = DLQ_TOPICS,
    *,
    timeout_s: float = READ_TIMEOUT_S,
) -> list[DeadLetter]:
    """Every dead letter on the topics now, in (dlq topic, partition, offset) order."""
    return [DeadLetter.from_record(r) for r in read_records(bootstrap_servers, topics, timeout_s)]


def replayed_from(letter: DeadLetter) -> str:
    """The ``dlq.replayed.from`` value of a dead letter: ``<dlq topic>:<partition>:<offset>``."""
    r = letter.record
    return f"{r.topic}:{r.partition}:{r.offset}"


def event_id_of(letter: DeadLetter) -> str | None:
    """The ``eventId`` header the original record carried (None for a foreign record)."""
    return letter.record.headers.get("eventId")


def by_event_id(letters: Iterable[DeadLetter], event_ids: Collection[str]) -> list[DeadLetter]:
    """The dead letters of these events (every copy, if one event failed more than once)."""
    wanted = set(event_ids)
    return [d for d in letters if event_id_of(d) in wanted]


def by_original_topic(letters: Iterable[DeadLetter], topic: str) -> list[DeadLetter]:
    """The dead letters that came from one topic."""
    return [d for d in letters if d.original_topic == topic]


def by_error_class(letters: Iterable[DeadLetter], error_class: str) -> list[DeadLetter]:
    """The dead letters whose handler failed with this exception class name."""
    return [d for d in letters if d.error_class == error_class]


def select(
    letters: Iterable[DeadLetter],
    *,
    event_ids: Collection[str] | None = None,
    original_topic: str | None = None,
    error_class: str | None = None,
) -> list[DeadLetter]:
    """Every filter given must match; none given selects all of them."""
    chosen = list(letters)
    if event_ids is not None:
        chosen = by_event_id(chosen, event_ids)
    if original_topic is not None:
        chosen = by_original_topic(chosen, original_topic)
    if error_class is not None:
        chosen = by_error_class(chosen, error_class)
    return chosen


def replay(
    bootstrap_servers: str,
    letters: Iterable[DeadLetter],
    producer: EventProducer | None = None,
    *,
    timeout_s: float = REPLAY_TIMEOUT_S,
) -> int:
    """Send each dead letter back to its original topic; returns how many were acked.

    Waits for every delivery acknowledgement and raises ``DeliveryFailedError`` if one
    is missing or failed: the caller must not report as replayed what the broker did not
    take. Without a producer, one is built for ``bootstrap_servers`` and closed after.
    A letter without ``dlq.original.topic`` raises ``ValueError`` before anything is sent.
    """
    chosen = list(letters)
    foreign = [replayed_from(d) for d in chosen if not d.original_topic]
    if foreign:
        raise ValueError(f"no {ORIGINAL_TOPIC} header on {foreign}: cannot replay")
    owned = producer is None
    sender = producer or EventProducer(bootstrap_servers, client_id="paysim-dlq-replay")
    acked: list[str] = []
    failures: list[Exception] = []
    try:
        for letter in chosen:
            _send(sender, letter, acked, failures)
        undelivered = sender.flush(timeout_s)
    finally:
        if owned:
            sender.close()
    if undelivered or failures or len(acked) != len(chosen):
        raise DeliveryFailedError(
            f"replay: {len(acked)} of {len(chosen)} acknowledged, {undelivered} still in "
            f"flight after {timeout_s}s, failures: {failures[:3]}"
        )
    return len(acked)


def _send(
    producer: EventProducer, letter: DeadLetter, acked: list[str], failures: list[Exception]
) -> None:
    record = letter.record
    origin = replayed_from(letter)
    headers = {k: v for k, v in record.headers.items() if not k.startswith("dlq.")}
    headers[REPLAYED_FROM] = origin

    def on_delivery(err: Exception | None) -> None:
        if err is None:
            acked.append(origin)
        else:
            failures.append(err)

    # The key goes back as it was read. A dead letter's key is never null (the writer
    # sends "" for a record that had none), so "" here restores exactly what was parked.
    producer.publish(
        letter.original_topic, record.key or "", record.value or b"", headers, on_delivery
    )
    log.info(
        "replaying %s to %s (eventId=%s orderId=%s, was %s after %d attempt(s))",
        origin,
        letter.original_topic,
        event_id_of(letter),
        record.key,
        letter.error_class,
        letter.attempts,
    )
