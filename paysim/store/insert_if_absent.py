"""Insert-if-absent, written once: an INSERT that does nothing when its key is taken.

``ON CONFLICT DO NOTHING`` rather than catching the key violation: a failed statement
aborts the whole transaction on PostgreSQL, so catching it needs a SAVEPOINT around every
insert, and the caller's transaction must stay usable for whatever else it does. A
racing insert of the same key waits for the first one's transaction (on the row's key
lock, or on SQLite's write lock) and then inserts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Executable, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


class InsertIfAbsent:
    """Inserts a row into ``table`` unless a row with the same unique key is there.

    Built once per table, per dialect (the store runs on SQLite and PostgreSQL), its
    values given as parameters. RETURNING tells whether the row went in: drivers need
    not report a row count for an INSERT.
    """

    def __init__(self, table: Table) -> None:
        self._by_dialect: dict[str, Executable] = {
            backend.dialect.name: backend.insert(table)
            .on_conflict_do_nothing()
            .returning(*table.primary_key.columns)
            for backend in (sqlite, postgresql)
        }

    def __call__(self, connection: Connection, row: Mapping[str, Any]) -> bool:
        """Insert ``row`` in the connection's transaction; False if its key was taken."""
        statement = self._by_dialect[connection.dialect.name]
        return connection.execute(statement, row).first() is not None
