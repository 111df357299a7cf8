"""An audit trail read back: the moves offered to one thing, as the services' APIs show them.

A service's ``*_transitions`` table has one row a move offered (``from_status``,
``to_status``, ``applied``, ``cause``, ``note``, ``at``, and ``event_id`` where moves
come from events); every service reads it back the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.engine import Connection

from paysim.store.outbox import as_utc


def transition_history(
    conn: Connection, table: Table, where: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """The rows of ``table`` that ``where`` selects, in the order they were recorded."""
    rows = conn.execute(select(table).where(where).order_by(table.c.id))
    with_event = "event_id" in table.c
    return [
        {
            "from": r.from_status,
            "to": r.to_status,
            "applied": r.applied,
            "cause": r.cause,
            "note": r.note,
            **({"eventId": r.event_id} if with_event else {}),
            "at": as_utc(r.at).isoformat(),
        }
        for r in rows
    ]
