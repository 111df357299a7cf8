"""The transactional outbox: events a service owes, written in its own transaction.

A handler adds the events it produces to the outbox on the same connection (hence the
same transaction) as its state change, so either both are committed or neither is.
``OutboxRelay`` publishes the rows later, in id order. One event becomes one row per
destination topic (its own topic and its family's catch-all), each keyed by orderId.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from paysim.codec import encode_event
from paysim.domain.clock import as_utc, utc_now
from paysim.domain.events import AnyEvent
from paysim.store.schema import outbox
from paysim.topics import destinations

logger = logging.getLogger(__name__)

_MAX_ERROR_LENGTH = 2_000


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


def record_headers(event: AnyEvent) -> dict[str, str]:
    """Kafka headers of an event's records: enough to route or park it without parsing."""
    return {
        "eventType": event.event_type.value,
        "eventId": str(event.event_id),
        "schemaVersion": str(event.schema_version),
        "source": event.source,
        "contentType": "application/json",
    }


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
                "attempts": 0,
            }
            for topic in destinations(event.event_type.value)
        ]
        # One statement per row, in destination order: the ids (publish order) then
        # follow the list order on every backend.
        for row in rows:
            self._connection.execute(insert(outbox).values(row))
        logger.debug(
            "outbox add %s eventId=%s orderId=%s topics=%s",
            event.event_type.value,
            event.event_id,
            event.order_id,
            [row["topic"] for row in rows],
            extra={"eventId": str(event.event_id), "orderId": event.order_id},
        )

    def pending(self, limit: int) -> list[OutboxRecord]:
        """The oldest unsent rows, in publish (id) order."""
        query = select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(limit)
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
        """Record a confirmed delivery; rows already marked keep their first sent_at."""
        if not ids:
            return 0
        result = self._connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.sent_at.is_(None))
            .values(sent_at=self._clock(), attempts=outbox.c.attempts + 1, last_error=None)
        )
        return result.rowcount

    def mark_failed(self, ids: Sequence[int], error: str) -> int:
        """Count a publish attempt that was not confirmed; the rows stay pending."""
        if not ids:
            return 0
        result = self._connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.sent_at.is_(None))
            .values(attempts=outbox.c.attempts + 1, last_error=error[:_MAX_ERROR_LENGTH])
        )
        return result.rowcount

    def backlog(self) -> int:
        """How many rows wait to be published."""
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int(self._connection.execute(query).scalar_one())

    def oldest_pending_age_s(self) -> float | None:
        """Seconds the oldest unsent row has waited; None when nothing waits."""
        query = select(func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
        oldest = self._connection.execute(query).scalar_one_or_none()
        if oldest is None:
            return None
        return max(0.0, (self._clock() - as_utc(oldest)).total_seconds())
