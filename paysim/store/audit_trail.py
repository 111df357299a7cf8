"""Audit trails: every move offered to a payment, order or delivery, applied or not, and why.

Each service keeps one trail table per kind of thing it moves, all of the same shape,
made by ``transitions_table``; ``AuditTrail`` writes a line and reads a subject's lines
back. A line is written in the caller's transaction, so it is committed with the move it
records (or with the decision to ignore one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, MetaData, String, Table, Text
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.store.schema import ROW_ID

_SUBJECT = "paysim.audit_subject"
"""The key under which a trail table's ``info`` names its subject column."""


def transitions_table(name: str, metadata: MetaData, subject_column: str) -> Table:
    """A trail table in ``metadata``; ``subject_column`` holds the id of what moved."""
    return Table(
        name,
        metadata,
        Column("id", ROW_ID, primary_key=True, autoincrement=True),
        Column(subject_column, BigInteger, nullable=False, index=True),
        Column("from_status", String(32), nullable=True),  # None: the subject was created
        Column("to_status", String(32), nullable=False),
        Column("applied", Boolean, nullable=False),
        Column("cause", String(128), nullable=False),
        Column("event_id", String(64), nullable=True),  # the event that asked, if one did
        Column("note", Text, nullable=True),  # why a move was not applied
        Column("at", DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
        info={_SUBJECT: subject_column},
    )


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One line of an audit trail."""

    from_status: str | None
    to_status: str
    applied: bool
    cause: str
    event_id: str | None
    note: str | None
    at: datetime

    def view(self) -> dict[str, Any]:
        """The line as the HTTP APIs show it."""
        return {
            "from": self.from_status,
            "to": self.to_status,
            "applied": self.applied,
            "cause": self.cause,
            "eventId": self.event_id,
            "note": self.note,
            "at": self.at.isoformat(),
        }


class AuditTrail:
    """Writes and reads one trail table (made by ``transitions_table``)."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._subject = table.c[table.info[_SUBJECT]]
        # Built once, values given as parameters: a statement built per line costs more
        # CPU (coercion, cache key) than running it.
        self._insert = table.insert()

    def record(
        self,
        conn: Connection,
        subject_id: int,
        from_status: StrEnum | None,
        to_status: StrEnum,
        *,
        applied: bool,
        cause: str,
        now: datetime,
        event_id: str | None = None,
        note: str | None = None,
    ) -> None:
        """One line, in the caller's transaction; ``from_status`` None: just created."""
        conn.execute(
            self._insert,
            {
                self._subject.name: subject_id,
                "from_status": from_status.value if from_status else None,
                "to_status": to_status.value,
                "applied": applied,
                "cause": cause,
                "event_id": event_id,
                "note": note,
                "at": now,
            },
        )

    def record_move(
        self,
        conn: Connection,
        subject_id: int,
        from_status: StrEnum,
        to_status: StrEnum,
        *,
        cause: str,
        event_id: str | None,
        now: datetime,
    ) -> None:
        """An applied move's line, if the status did change (saving other fields is not one)."""
        if to_status != from_status:
            self.record(
                conn,
                subject_id,
                from_status,
                to_status,
                applied=True,
                cause=cause,
                event_id=event_id,
                now=now,
            )

    def lines(self, conn: Connection, subject_id: int) -> list[TransitionRow]:
        """A subject's lines, oldest first."""
        query = self._table.select().where(self._subject == subject_id).order_by(self._table.c.id)
        return [
            TransitionRow(
                from_status=r.from_status,
                to_status=r.to_status,
                applied=bool(r.applied),
                cause=r.cause,
                event_id=r.event_id,
                note=r.note,
                at=as_utc(r.at),
            )
            for r in conn.execute(query)
        ]
