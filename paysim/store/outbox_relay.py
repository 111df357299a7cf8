"""The outbox relay: publishes committed outbox rows, in id order, at least once.

Delivery semantics, decided here:

* A crash after a service commits and before the relay publishes loses nothing: the
  rows are in the database, and whichever relay runs next publishes them.
* A crash after the broker confirmed a record and before the row is marked sent
  publishes that record again. So do a failed mark-sent transaction and a delivery
  report that says "failed" for a record the broker did in fact keep. The outbox is
  therefore at-least-once; consumers make it effectively-once by recording each eventId
  in their own transaction (``ProcessedEvents``).
* Order per key (orderId) is kept: rows are read in id order, which is commit order for
  one order's events (they are written by transactions that serialize on that order),
  and only the unbroken prefix of confirmed rows is marked sent. After the first
  failure nothing further is marked, so the next round starts again from the failed
  row rather than leaving a gap behind a later record of the same order.

Run one relay per database. A second one would not lose anything either, but it would
publish the same rows concurrently, which doubles the duplicates and mixes the order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from paysim.domain.clock import utc_now
from paysim.errors import TransientError
from paysim.store.outbox import Outbox, OutboxRecord
from paysim.store.ports import Publisher

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayHooks:
    """Optional metric callbacks, so that the store imports no metrics library.

    ``on_published(record, latency_s)``: the broker confirmed a record; latency is from
    the outbox write to the confirmation. ``on_failed(record, error)``: a record's
    delivery failed or was not confirmed in time. ``on_backlog(rows, oldest_age_s)``:
    after each round, the rows still pending and how long the oldest has waited.
    """

    on_published: Callable[[OutboxRecord, float], None] | None = None
    on_failed: Callable[[OutboxRecord, Exception], None] | None = None
    on_backlog: Callable[[int, float | None], None] | None = None


class DeliveryNotConfirmedError(TransientError):
    """The publisher gave no delivery report for a record before the flush timed out."""


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
        if error is not None:
            self._batch.failed = True


@dataclass
class _Batch:
    clock: Callable[[], datetime]
    failed: bool = False


class OutboxRelay:
    """Moves outbox rows to the broker: read a batch, publish, flush, mark the confirmed.

    The database is never held while the broker is waited on: rows are read in one short
    transaction and their outcome written in another, so the service's writers are not
    blocked by a slow or absent broker.
    """

    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        batch_size: int = 100,
        poll_interval_s: float = 0.1,
        *,
        flush_timeout_s: float = 10.0,
        max_backoff_s: float = 5.0,
        hooks: RelayHooks | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._flush_timeout_s = flush_timeout_s
        self._max_backoff_s = max_backoff_s
        self._hooks = hooks or RelayHooks()
        self._clock = clock
        self._last_round_failed = False

    def run_once(self) -> int:
        """One round: publish up to ``batch_size`` pending rows; return how many were sent."""
        self._last_round_failed = True  # until the round gets to its end
        with self._engine.begin() as connection:
            records = Outbox(connection, clock=self._clock).pending(self._batch_size)
        if not records:
            self._last_round_failed = False
            if self._hooks.on_backlog:
                self._hooks.on_backlog(0, None)
            return 0

        deliveries = self._publish(records)
        confirmed, unconfirmed, error = self._settle(deliveries)

        # Only now, with the broker's confirmations in hand, is anything marked sent. A
        # crash before this commit leaves the rows pending: they are published again.
        with self._engine.begin() as connection:
            outbox = Outbox(connection, clock=self._clock)
            outbox.mark_sent([d.record.id for d in confirmed])
            if error is not None:
                outbox.mark_failed([d.record.id for d in unconfirmed], repr(error))
            backlog = outbox.backlog() if self._hooks.on_backlog else 0
            oldest = outbox.oldest_pending_age_s() if self._hooks.on_backlog else None

        self._last_round_failed = error is not None
        self._report(confirmed, unconfirmed, error)
        if self._hooks.on_backlog:
            self._hooks.on_backlog(backlog, oldest)
        return len(confirmed)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set; a failing round backs off and is tried again."""
        failures = 0
        logger.info("outbox relay started (batch %d)", self._batch_size)
        while not stop.is_set():
            try:
                sent = self.run_once()
            except Exception:
                # The relay must outlive a locked database or a broker hiccup: its rows
                # are safe in the outbox and the next round picks them up.
                sent = 0
                logger.exception("outbox relay round failed")
            # Back off while rounds fail, so a broker that is down is not hammered.
            failures = min(failures + 1, 30) if self._last_round_failed else 0
            if sent < self._batch_size:  # caught up (or failing): wait before polling
                stop.wait(min(self._poll_interval_s * 2**failures, self._max_backoff_s))
        logger.info("outbox relay stopped")

    def _publish(self, records: list[OutboxRecord]) -> list[_Delivery]:
        batch = _Batch(clock=self._clock)
        deliveries: list[_Delivery] = []
        for record in records:
            if batch.failed:
                # A record already failed: anything after it would only be marked
                # failed too, so stop handing records over (fewer duplicates later).
                break
            delivery = _Delivery(record, batch)
            deliveries.append(delivery)
            try:
                self._publisher.publish(
                    record.topic, record.key, record.payload, record.headers, delivery
                )
            except Exception as exc:  # could not even be queued: same as a failed delivery
                delivery(exc)
                break
        started = time.monotonic()
        undelivered = self._publisher.flush(self._flush_timeout_s)
        if undelivered:
            logger.warning(
                "outbox relay flush left %d records undelivered after %.1fs",
                undelivered,
                time.monotonic() - started,
            )
        return deliveries

    @staticmethod
    def _settle(
        deliveries: list[_Delivery],
    ) -> tuple[list[_Delivery], list[_Delivery], Exception | None]:
        """Split into the confirmed prefix and the rest; the error that ended the prefix."""
        for index, delivery in enumerate(deliveries):
            if not delivery.settled or delivery.error is not None:
                error = delivery.error or DeliveryNotConfirmedError(
                    "no delivery report before the flush timed out"
                )
                return deliveries[:index], deliveries[index:], error
        return deliveries, [], None

    def _report(
        self,
        confirmed: list[_Delivery],
        unconfirmed: list[_Delivery],
        error: Exception | None,
    ) -> None:
        for delivery in confirmed:
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
        if error is None or not unconfirmed:
            return
        first = unconfirmed[0].record
        logger.warning(
            "publish of %s to %s failed, %d records left pending: %s eventId=%s orderId=%s",
            first.event_type,
            first.topic,
            len(unconfirmed),
            error,
            first.event_id,
            first.key,
            extra={"eventId": first.event_id, "orderId": first.key},
        )
        if self._hooks.on_failed:
            # Records confirmed after the first failure are not failures: they stay
            # pending only to keep the order, and go out again next round.
            for delivery in unconfirmed:
                if not delivery.settled or delivery.error is not None:
                    self._hooks.on_failed(delivery.record, delivery.error or error)
