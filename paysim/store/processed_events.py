"""Idempotent consumers: one tracking row per (consumer group, event id) handled.

A consumer records the event it handles in the same transaction as the state change
the event causes. If the event was handled before (Kafka redelivers after a crash or
a rebalance; the outbox relay republishes after a crash), the row is already there and
``record`` answers False: the handler skips the event, and committing the transaction
changes nothing. If the handler's transaction rolls back, the tracking row goes with it,
so the redelivered event is handled again, as it must be.

A tracking row only has to outlive the redeliveries of its event, which come within
seconds or minutes (a consumer restarted or rebalanced before it committed, a relay
republishing after a crash): rows older than the retention horizon
(``Settings.retention_hours``, a day by default) are pruned (``EXPIRING``), so the table
does not grow for ever. A group reset to replay a topic from further back than the
horizon would handle those older events again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.engine import Connection

from paysim.domain.clock import utc_now
from paysim.store.insert_if_absent import InsertIfAbsent
from paysim.store.retention import Expiring
from paysim.store.schema import processed_events

logger = logging.getLogger(__name__)

EXPIRING = Expiring(processed_events.c.processed_at)
"""Tracking rows, dated by when their event was handled (see the module's docstring)."""


_RECORD = InsertIfAbsent(processed_events)


class ProcessedEvents:
    """The tracking rows seen through one connection and its current transaction."""

    def __init__(self, connection: Connection, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._connection = connection
        self._clock = clock

    def record(self, consumer_group: str, event_id: UUID | str) -> bool:
        """Mark the event handled by the group; False if it already was.

        The primary key decides, not a prior ``SELECT``: two consumers racing on the same
        event both pass a "not seen yet" check, but only one insert can succeed (the other
        waits on the row's key lock, or on SQLite's write lock, and then inserts nothing).

        Inserted if absent (``InsertIfAbsent``): a duplicate fails nothing, so the
        caller's transaction goes on.
        """
        row = {
            "consumer_group": consumer_group,
            "event_id": str(event_id),
            "processed_at": self._clock(),
        }
        if _RECORD(self._connection, row):
            return True
        logger.info(
            "duplicate event skipped group=%s eventId=%s",
            consumer_group,
            event_id,
            extra={"eventId": str(event_id), "consumerGroup": consumer_group},
        )
        return False

    def seen(self, consumer_group: str, event_id: UUID | str) -> bool:
        """Whether the group has handled the event (as of this transaction)."""
        query = select(
            exists().where(
                processed_events.c.consumer_group == consumer_group,
                processed_events.c.event_id == str(event_id),
            )
        )
        return bool(self._connection.execute(query).scalar())
