"""The transactional outbox: events a service owes, written in its own transaction.

A handler adds the events it produces to the outbox on the same connection (hence the
same transaction) as its state change, so either both are committed or neither is.
``OutboxRelay`` publishes the rows later, in id order, woken by the commit. One event
becomes one row per destination topic (its own topic and its family's catch-all), each
keyed by orderId.

A row is ``pending`` until the broker confirms it (``sent``), or until the relay gives
up on it (``parked``: refused for what it is, or failed too often while the rows behind
it went through; see ``outbox_relay``). A parked row waits, with its reason, for a
person: ``paysim outbox list`` shows it and ``paysim outbox retry`` makes it pending
again. Sent rows are kept for a retention horizon (``prune_sent``), then deleted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, insert, literal, select, update
from sqlalchemy.engine import Connection

from paysim.codec import encode_event
from paysim.domain.clock import as_utc, utc_now
from paysim.domain.events import AnyEvent
from paysim.store.outbox_signal import note_owed
from paysim.store.retention import PRUNE_BATCH, Expiring, delete_expired
from paysim.store.schema import outbox
from paysim.topics import destinations

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2_000
"""Longest error text (or parking reason) kept on a row."""


class RowState(StrEnum):
    """Where an outbox row is in its life."""

    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"


def _in_state(state: RowState) -> ColumnElement[bool]:
    # Rendered as a literal, not a bound parameter: SQLite uses a partial index only when
    # the query's WHERE visibly implies the index's (``state = 'pending'``).
    return outbox.c.state == literal(state.value, literal_execute=True)


SENT_ROWS = Expiring(outbox.c.sent_at, only=_in_state(RowState.SENT))
"""What the retention horizon deletes: sent rows, dated by when the broker took them."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One pending row: a record ready to hand to a publisher."""

    id: int
    event_id: str
    event_type: str
    topic: str
    key: str
    payload: bytes
    headers: dict[str, str]
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class ParkedRow:
    """A row the relay gave up on, for a person to look at (no payload: it may be huge)."""

    id: int
    event_id: str
    event_type: str
    topic: str
    key: str
    payload_bytes: int
    attempts: int
    reason: str
    created_at: datetime
    parked_at: datetime | None


def record_headers(event: AnyEvent) -> dict[str, str]:
    """Kafka headers of an event's records: enough to route or park it without parsing."""
    return {
        "eventType": event.event_type.value,
        "eventId": str(event.event_id),
        "schemaVersion": str(event.schema_version),
        "source": event.source,
        "contentType": "application/json",
    }


_INSERT_ROW = insert(outbox)
"""Built once, its values given as parameters: building ``.values(row)`` anew per row
(coercing each value, then hashing the statement for the compiled cache) cost more CPU
than running it."""


class Outbox:
    """The outbox table seen through one connection and its current transaction."""

    def __init__(self, connection: Connection, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._connection = connection
        self._clock = clock

    def add(self, event: AnyEvent) -> None:
        """Owe ``event``: one row per destination topic, in the caller's transaction."""
        payload = encode_event(event)
        headers = json.dumps(record_headers(event), sort_keys=True)
        now = self._clock()
        rows = [
            {
                "event_id": str(event.event_id),
                "event_type": event.event_type.value,
                "topic": topic,
                "key": str(event.order_id),
                "payload": payload,
                "headers": headers,
                "created_at": now,
                "state": RowState.PENDING.value,
                "attempts": 0,
            }
            for topic in destinations(event.event_type.value)
        ]
        # One statement per row, in destination order: the ids (publish order) then
        # follow the list order on every backend.
        for row in rows:
            self._connection.execute(_INSERT_ROW, row)
        note_owed(self._connection)  # its commit wakes the relay (``outbox_signal``)
        logger.debug(
            "outbox add %s eventId=%s orderId=%s topics=%s",
            event.event_type.value,
            event.event_id,
            event.order_id,
            [row["topic"] for row in rows],
            extra={"eventId": str(event.event_id), "orderId": event.order_id},
        )

    def pending(self, limit: int) -> list[OutboxRecord]:
        """The oldest pending rows, in publish (id) order."""
        query = select(outbox).where(_in_state(RowState.PENDING)).order_by(outbox.c.id).limit(limit)
        return [
            OutboxRecord(
                id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                topic=row.topic,
                key=row.key,
                payload=bytes(row.payload),
                headers=json.loads(row.headers),
                created_at=as_utc(row.created_at),
                attempts=row.attempts,
            )
            for row in self._connection.execute(query)
        ]

    def mark_sent(self, ids: Sequence[int]) -> int:
        """Record a confirmed delivery; rows no longer pending are left as they are."""
        if not ids:
            return 0
        result = self._connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), _in_state(RowState.PENDING))
            .values(state=RowState.SENT.value, sent_at=self._clock(), last_error=None)
        )
        return result.rowcount

    def mark_failed(self, ids: Sequence[int], error: str, *, charge: bool = True) -> int:
        """Note a publish attempt that was not confirmed; the rows stay pending.

        ``charge``: count it in the rows' ``attempts`` (the relay's budget before it parks
        a row); a failure that says nothing about the row itself is noted only.
        """
        if not ids:
            return 0
        query = (
            update(outbox)
            .where(outbox.c.id.in_(ids), _in_state(RowState.PENDING))
            .values(last_error=error[:MAX_ERROR_LENGTH])
        )
        if charge:
            query = query.values(attempts=outbox.c.attempts + 1)
        return self._connection.execute(query).rowcount

    def park(self, row_id: int, reason: str) -> bool:
        """Take a pending row out of the publish order, with why; counts as one attempt."""
        result = self._connection.execute(
            update(outbox)
            .where(outbox.c.id == row_id, _in_state(RowState.PENDING))
            .values(
                state=RowState.PARKED.value,
                parked_at=self._clock(),
                attempts=outbox.c.attempts + 1,
                last_error=reason[:MAX_ERROR_LENGTH],
            )
        )
        return result.rowcount == 1

    def parked(self, limit: int | None = None) -> list[ParkedRow]:
        """The parked rows, oldest first."""
        query = (
            select(
                outbox.c.id,
                outbox.c.event_id,
                outbox.c.event_type,
                outbox.c.topic,
                outbox.c.key,
                func.length(outbox.c.payload).label("payload_bytes"),
                outbox.c.attempts,
                outbox.c.last_error,
                outbox.c.created_at,
                outbox.c.parked_at,
            )
            .where(_in_state(RowState.PARKED))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [
            ParkedRow(
                id=row.id,
                event_id=row.event_id,
                event_type=row.event_type,
                topic=row.topic,
                key=row.key,
                payload_bytes=int(row.payload_bytes),
                attempts=row.attempts,
                reason=row.last_error or "",
                created_at=as_utc(row.created_at),
                parked_at=as_utc(row.parked_at) if row.parked_at is not None else None,
            )
            for row in self._connection.execute(query)
        ]

    def retry_parked(self, ids: Sequence[int] | None = None) -> list[int]:
        """Make parked rows pending again (all of them when ``ids`` is None), with a fresh
        attempt budget; returns the ids that moved. They keep their id, so the relay
        publishes them next, ahead of rows committed after them."""
        query = update(outbox).where(_in_state(RowState.PARKED))
        if ids is not None:
            query = query.where(outbox.c.id.in_(ids))
        moved = self._connection.execute(
            query.values(state=RowState.PENDING.value, parked_at=None, attempts=0).returning(
                outbox.c.id
            )
        )
        return sorted(moved.scalars())

    def parked_count(self) -> int:
        """How many rows are parked."""
        return self._count(RowState.PARKED)

    def backlog(self) -> int:
        """How many rows wait to be published (parked rows do not: nothing retries them)."""
        return self._count(RowState.PENDING)

    def oldest_pending_age_s(self) -> float | None:
        """Seconds the oldest pending row has waited; None when nothing waits."""
        query = select(func.min(outbox.c.created_at)).where(_in_state(RowState.PENDING))
        oldest = self._connection.execute(query).scalar_one_or_none()
        if oldest is None:
            return None
        return max(0.0, (self._clock() - as_utc(oldest)).total_seconds())

    def prune_sent(self, older_than: datetime, limit: int = PRUNE_BATCH) -> int:
        """Delete up to ``limit`` rows sent before ``older_than``, oldest first; how many.

        Bounded so that one call holds the write lock briefly: to prune everything, call
        again (in a new transaction) while it returns ``limit`` (``retention.prune``
        does). Pending and parked rows are never deleted, whatever their age.
        """
        return delete_expired(self._connection, SENT_ROWS, older_than, limit)

    def _count(self, state: RowState) -> int:
        query = select(func.count()).select_from(outbox).where(_in_state(state))
        return int(self._connection.execute(query).scalar_one())
