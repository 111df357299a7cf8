"""The outbox relay: publishes committed outbox rows, in id order, at least once.

Delivery semantics, decided here:

* A crash after a service commits and before the relay publishes loses nothing: the
  rows are in the database, and whichever relay runs next publishes them.
* A crash after the broker confirmed a record and before the row is marked sent
  publishes that record again. So do a failed mark-sent transaction and a delivery
  report that says "failed" for a record the broker did in fact keep. The outbox is
  therefore at-least-once; consumers make it effectively-once by recording each eventId
  in their own transaction (``ProcessedEvents``).
* Order per key (orderId) is kept among the rows that are published: rows are read in
  id order, which is commit order for one order's events (they are written by
  transactions that serialize on that order), and only the unbroken prefix of confirmed
  rows is marked sent. A row that failed is held at the head, and the confirmed rows
  behind it are not marked: the next round starts again from it rather than leaving a
  gap behind a later record of the same order.
* No single row blocks the outbox: a row that cannot be published is *parked* (state,
  reason, time; ``paysim outbox list`` / ``retry``) and leaves the publish order, so the
  rows behind it form the prefix and flow. A row is parked

  - at once when the publisher refuses it for what it is (a ``PermanentError``: the
    broker's size limit, an invalid record): the same bytes fail however often they
    are sent;
  - after ``max_attempts`` failures charged to it. A failure is charged when it is the
    row's own: its error is not a ``TransientError``, or a record handed over behind it
    in the same round was confirmed (the broker is taking records, just not this one).
    A transient failure with nothing confirmed behind it (the broker is down, the
    connection is gone) is not charged: parking would let nothing else through, and a
    broker outage must not park a healthy backlog.

  Rows of other keys, and the later rows of every key, keep their relative order. The
  later rows of the *parked row's key* are published without it: that order's consumers
  see a gap, not a stop. Holding them back instead would freeze the order (its saga
  never moves, its money stays held) until a person acts, for a row that may never be
  publishable; the consumers already tolerate gaps (a state machine applies an event
  only when it moves forward, skipped statuses included, and the saga's deadlines act
  on an event that never came). A parked row that is retried and then published arrives
  after its key's later records, where a consumer ignores it as stale or applies it if
  it still moves the entity forward, once (idempotent by eventId).

When it runs (``run``), the relay drains: it reads again at once while rounds come back
full, then waits until a transaction that added outbox rows commits on its engine in
this process (``outbox_signal``), or ``poll_interval_s`` passes, whichever is first; the
poll is the fallback for rows committed by another process. Its gauges (rows pending,
the oldest one's age, rows parked) are read at most every ``gauge_interval_s``, in a
read-only transaction of their own, never in the one that marks rows sent (a round that
left nothing pending knows the backlog is empty without reading it).

Sent rows are deleted once older than the retention horizon (``retention``), every
``prune_interval_s`` while the relay runs; pending and parked rows are never pruned.

Run one relay per database. A second one would not lose anything either, but it would
publish the same rows concurrently, which doubles the duplicates and mixes the order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from paysim.domain.clock import utc_now
from paysim.errors import PermanentError, TransientError
from paysim.store.database import reading
from paysim.store.outbox import SENT_ROWS, Outbox, OutboxRecord
from paysim.store.outbox_signal import outbox_signal
from paysim.store.ports import Publisher
from paysim.store.retention import prune

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class RelayHooks:
    """Optional metric callbacks, so that the store imports no metrics library.

    ``on_published(record, latency_s)``: the broker confirmed a record; latency is from
    the outbox write to the confirmation. ``on_failed(record, error)``: a record's
    delivery failed or was not confirmed in time. ``on_backlog(rows, oldest_age_s)``:
    the rows still pending and how long the oldest has waited: ``(0, None)`` after a
    round that left nothing pending, else read after the first round and then at most
    every ``gauge_interval_s``. ``on_parked(record, error)``: a row was parked.
    ``on_parked_rows(rows)``: how many rows are parked, after the first round, then when
    that number changed (it is read with the backlog, and after a round that parked one).
    """

    on_published: Callable[[OutboxRecord, float], None] | None = None
    on_failed: Callable[[OutboxRecord, Exception], None] | None = None
    on_backlog: Callable[[int, float | None], None] | None = None
    on_parked: Callable[[OutboxRecord, Exception], None] | None = None
    on_parked_rows: Callable[[int], None] | None = None


class DeliveryNotConfirmedError(TransientError):
    """The publisher gave no delivery report for a record before the flush timed out."""


def describe(error: Exception) -> str:
    """An error as kept on an outbox row: its class, then its message."""
    return f"{type(error).__name__}: {error}"


class _Delivery:
    """The outcome slot of one published record, filled by the publisher's callback."""

    __slots__ = ("_batch", "confirmed_at", "error", "record", "settled")

    def __init__(self, record: OutboxRecord, batch: _Batch) -> None:
        self.record = record
        self._batch = batch
        self.settled = False
        self.error: Exception | None = None
        self.confirmed_at: datetime | None = None

    def __call__(self, error: Exception | None) -> None:
        if self.settled:  # a second report for the same record is the adapter's bug
            return
        self.error = error
        self.confirmed_at = self._batch.clock() if error is None else None
        self.settled = True
        if error is not None and not isinstance(error, PermanentError):
            self._batch.holding = True  # a refused record is parked; the rest go on

    @property
    def confirmed(self) -> bool:
        return self.settled and self.error is None

    @property
    def failure(self) -> Exception | None:
        """Why the record is not confirmed; None if it is."""
        if self.confirmed:
            return None
        return self.error or DeliveryNotConfirmedError(
            "no delivery report before the flush timed out"
        )


@dataclass
class _Batch:
    clock: Callable[[], datetime]
    holding: bool = False
    """A record failed in a way that holds it (and so everything behind it) pending."""


@dataclass
class _Round:
    """What a round's deliveries mean for the rows: sent, parked, or held pending."""

    sent: list[_Delivery] = field(default_factory=list)
    parked: list[tuple[_Delivery, Exception]] = field(default_factory=list)
    held: list[_Delivery] = field(default_factory=list)
    """The first row that failed and stays pending, then every row behind it."""
    error: Exception | None = None
    """Why ``held[0]`` failed."""
    charged: bool = False
    """Whether that failure counts against ``held[0]``'s attempts."""


class OutboxRelay:
    """Moves outbox rows to the broker: read a batch, publish, flush, mark the outcome.

    The database is never held while the broker is waited on: rows are read in one short
    transaction and their outcome written in another, so the service's writers are not
    blocked by a slow or absent broker.
    """

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        batch_size: int = 100,
        poll_interval_s: float = 1.0,
        *,
        retry_delay_s: float = 0.1,
        gauge_interval_s: float = 2.0,
        flush_timeout_s: float = 10.0,
        max_backoff_s: float = 5.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retention: timedelta | None = None,
        prune_interval_s: float = 300.0,
        hooks: RelayHooks | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retry_delay_s = retry_delay_s
        self._gauge_interval_s = gauge_interval_s
        self._flush_timeout_s = flush_timeout_s
        self._max_backoff_s = max_backoff_s
        self._max_attempts = max_attempts
        self._retention = retention
        self._prune_interval_s = prune_interval_s
        self._hooks = hooks or RelayHooks()
        self._clock = clock
        self._last_round_failed = False
        self._last_round_full = False
        self._gauges_due_at: float | None = None  # None: on the first round
        self._parked_reported: int | None = None

    def run_once(self) -> int:
        """One round: publish up to ``batch_size`` pending rows; return how many were sent."""
        self._last_round_failed = True  # until the round gets to its end
        self._last_round_full = False
        with reading(self._engine) as connection:
            records = Outbox(connection, clock=self._clock).pending(self._batch_size)
        if not records:
            self._last_round_failed = False
            self._refresh_gauges(caught_up=True)
            return 0

        outcome = self._settle(self._publish(records))

        # Only now, with the broker's confirmations in hand, is anything marked sent. A
        # crash before this commit leaves the rows pending: they are published again.
        with self._engine.begin() as connection:
            outbox = Outbox(connection, clock=self._clock)
            outbox.mark_sent([d.record.id for d in outcome.sent])
            for delivery, error in outcome.parked:
                outbox.park(delivery.record.id, describe(error))
            if outcome.error is not None:
                outbox.mark_failed(
                    [outcome.held[0].record.id], describe(outcome.error), charge=outcome.charged
                )

        self._last_round_failed = outcome.error is not None
        self._last_round_full = len(records) == self._batch_size
        # The gauges first: whoever sees a round's counters then sees its gauges too.
        self._refresh_gauges(
            caught_up=not self._last_round_full and not outcome.held, force=bool(outcome.parked)
        )
        self._report(outcome)
        return len(outcome.sent)

    def prune(self) -> int:
        """Delete the sent rows older than the retention horizon; return how many.

        In batches, each its own short transaction (``retention.prune``), so the
        service's writers wait for at most one batch. Does nothing without a ``retention``.
        """
        if self._retention is None:
            return 0
        return prune(self._engine, SENT_ROWS, self._clock() - self._retention)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set: drain, then wait for a commit (or the poll); a
        failing round backs off and is tried again."""
        committed = outbox_signal(self._engine)
        failures = 0
        next_prune = time.monotonic()
        logger.info("outbox relay started (batch %d)", self._batch_size)
        while not stop.is_set():
            committed.clear()  # before the read: a commit from now on wakes the wait below
            try:
                self.run_once()
            except Exception:
                # The relay must outlive a locked database or a broker hiccup: its rows
                # are safe in the outbox and the next round picks them up.
                logger.exception("outbox relay round failed")
            if self._retention is not None and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self._prune_interval_s
                try:
                    self.prune()
                except Exception:
                    logger.exception(
                        "outbox prune failed; tried again in %.0fs", self._prune_interval_s
                    )
            # Back off while rounds fail, so a broker that is down is not hammered.
            failures = min(failures + 1, 30) if self._last_round_failed else 0
            if failures:
                stop.wait(min(self._retry_delay_s * 2**failures, self._max_backoff_s))
            elif not self._last_round_full:  # caught up: wait for rows
                committed.wait(self._poll_interval_s, stop)
        logger.info("outbox relay stopped")

    def _publish(self, records: list[OutboxRecord]) -> list[_Delivery]:
        batch = _Batch(clock=self._clock)
        deliveries: list[_Delivery] = []
        for record in records:
            if batch.holding:
                # A record failed and is held: anything after it would only be held
                # too, so stop handing records over (fewer duplicates later).
                break
            delivery = _Delivery(record, batch)
            deliveries.append(delivery)
            try:
                self._publisher.publish(
                    record.topic, record.key, record.payload, record.headers, delivery
                )
            except Exception as exc:  # could not even be queued: same as a failed delivery
                delivery(exc)
        started = time.monotonic()
        undelivered = self._publisher.flush(self._flush_timeout_s)
        if undelivered:
            logger.warning(
                "outbox relay flush left %d records undelivered after %.1fs",
                undelivered,
                time.monotonic() - started,
            )
        return deliveries

    def _settle(self, deliveries: list[_Delivery]) -> _Round:
        """Walk the round in id order: the confirmed prefix is sent, refused rows (and rows
        out of attempts) are parked, and the first other failure holds the rest."""
        outcome = _Round()
        for index, delivery in enumerate(deliveries):
            error = delivery.failure
            if outcome.held:
                # Behind a held row nothing is marked sent; a refused row is parked all
                # the same (it would be, at the head), and nothing else is charged.
                if isinstance(error, PermanentError):
                    outcome.parked.append((delivery, error))
                else:
                    outcome.held.append(delivery)
            elif error is None:
                outcome.sent.append(delivery)
            elif isinstance(error, PermanentError):
                outcome.parked.append((delivery, error))
            else:
                charged = not isinstance(error, TransientError) or any(
                    later.confirmed for later in deliveries[index + 1 :]
                )
                if charged and delivery.record.attempts + 1 >= self._max_attempts:
                    outcome.parked.append((delivery, error))
                else:
                    outcome.held.append(delivery)
                    outcome.error, outcome.charged = error, charged
        return outcome

    def _refresh_gauges(self, *, caught_up: bool, force: bool = False) -> None:
        """Report the gauges: read, in a read-only transaction, when they are due (or
        ``force``d); a round that left nothing pending (``caught_up``) reports an empty
        backlog without reading it."""
        hooks = self._hooks
        if hooks.on_backlog and caught_up:
            hooks.on_backlog(0, None)
        now = time.monotonic()
        due = force or self._gauges_due_at is None or now >= self._gauges_due_at
        read_backlog = hooks.on_backlog is not None and not caught_up
        if not due or not (read_backlog or hooks.on_parked_rows):
            return
        self._gauges_due_at = now + self._gauge_interval_s
        with reading(self._engine) as connection:
            outbox = Outbox(connection, clock=self._clock)
            rows = outbox.backlog() if read_backlog else 0
            oldest = outbox.oldest_pending_age_s() if read_backlog else None
            parked = outbox.parked_count() if hooks.on_parked_rows else None
        if hooks.on_backlog and read_backlog:
            hooks.on_backlog(rows, oldest)
        if hooks.on_parked_rows and parked is not None and parked != self._parked_reported:
            hooks.on_parked_rows(parked)
            self._parked_reported = parked

    def _report(self, outcome: _Round) -> None:
        for delivery in outcome.sent:
            record = delivery.record
            logger.debug(
                "published %s to %s eventId=%s orderId=%s",
                record.event_type,
                record.topic,
                record.event_id,
                record.key,
                extra={"eventId": record.event_id, "orderId": record.key},
            )
            if self._hooks.on_published and delivery.confirmed_at is not None:
                latency = (delivery.confirmed_at - record.created_at).total_seconds()
                self._hooks.on_published(record, max(0.0, latency))
        for delivery, error in outcome.parked:
            record = delivery.record
            logger.error(
                "parked outbox row %d (%s to %s, after %d attempts): %s eventId=%s orderId=%s",
                record.id,
                record.event_type,
                record.topic,
                record.attempts + 1,
                describe(error),
                record.event_id,
                record.key,
                extra={"eventId": record.event_id, "orderId": record.key},
            )
            if self._hooks.on_failed:
                self._hooks.on_failed(record, error)
            if self._hooks.on_parked:
                self._hooks.on_parked(record, error)
        if outcome.error is None:
            return
        first = outcome.held[0].record
        logger.warning(
            "publish of %s to %s failed, %d records left pending: %s eventId=%s orderId=%s",
            first.event_type,
            first.topic,
            len(outcome.held),
            outcome.error,
            first.event_id,
            first.key,
            extra={"eventId": first.event_id, "orderId": first.key},
        )
        if self._hooks.on_failed:
            # Records confirmed behind the held one are not failures: they stay pending
            # only to keep the order, and go out again next round.
            for delivery in outcome.held:
                failure = delivery.failure
                if failure is not None:
                    self._hooks.on_failed(delivery.record, failure)
