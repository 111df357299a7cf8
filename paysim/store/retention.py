"""Rows kept for a retention horizon, then deleted: tables that would otherwise only grow.

A table's expiring rows are named by an :class:`Expiring` (the column that dates a row,
and which rows may expire at all); :func:`prune` deletes those older than a cutoff, in
batches of ``PRUNE_BATCH`` rows, oldest first, each batch its own short transaction, so
the service's writers wait for at most one batch. ``RetentionSweep`` prunes a service's
expiring tables against ``Settings.retention_hours``, a round each time it is called (a
``periodic`` worker calls it); the outbox relay prunes its sent rows with the same
:func:`prune`.

Why the horizon is safe for each table is the table owner's to say where it declares
its :class:`Expiring` (processed-event rows: :mod:`paysim.store.processed_events`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, ColumnElement, Engine, Table, and_, delete, select, tuple_
from sqlalchemy.engine import Connection

from paysim.domain.clock import utc_now

logger = logging.getLogger(__name__)

PRUNE_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class Expiring:
    """The rows of a table that expire: those dated (by ``dated_by``) before the cutoff,
    among those ``only`` admits (all, if None)."""

    dated_by: Column[datetime]
    only: ColumnElement[bool] | None = None

    @property
    def table(self) -> Table:
        table = self.dated_by.table
        assert isinstance(table, Table)
        return table

    def older_than(self, cutoff: datetime) -> ColumnElement[bool]:
        aged = self.dated_by < cutoff
        return aged if self.only is None else and_(self.only, aged)


def delete_expired(connection: Connection, rows: Expiring, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` expired rows, oldest first, on ``connection``; how many."""
    key = list(rows.table.primary_key.columns)
    oldest = select(*key).where(rows.older_than(cutoff)).order_by(rows.dated_by).limit(limit)
    # A composite key (processed_events) is matched as a row value: portable to SQLite
    # (3.15+) and PostgreSQL alike.
    matched = key[0].in_(oldest) if len(key) == 1 else tuple_(*key).in_(oldest)
    return connection.execute(delete(rows.table).where(matched)).rowcount


def prune(engine: Engine, rows: Expiring, cutoff: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete every expired row, in batches of ``batch``, each in its own transaction."""
    pruned = 0
    while True:
        with engine.begin() as connection:
            deleted = delete_expired(connection, rows, cutoff, batch)
        pruned += deleted
        if deleted < batch:
            break
    if pruned:
        logger.info("pruned %d %s rows older than %s", pruned, rows.table.name, cutoff)
    return pruned


class RetentionSweep:
    """Prunes a service's expiring tables to the retention horizon, once per call."""

    def __init__(
        self,
        engine: Engine,
        tables: Sequence[Expiring],
        retention: timedelta,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError("retention must be positive")
        self._engine = engine
        self._tables = list(tables)
        self._retention = retention
        self._clock = clock

    def __call__(self) -> dict[str, int]:
        """Prune every table; the rows deleted, per table name."""
        cutoff = self._clock() - self._retention
        return {rows.table.name: prune(self._engine, rows, cutoff) for rows in self._tables}
