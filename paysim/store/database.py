"""Engines for the services' databases: SQLite files by default, PostgreSQL by URL.

Several paysim processes (a service and its outbox relay, say) write to the same SQLite
file. SQLite allows one writer at a time, and the ``sqlite3`` driver's default
transaction handling makes concurrent writers fail instead of waiting:

* it sends no ``BEGIN`` before a ``SELECT`` or a ``SAVEPOINT``, and a plain ``BEGIN``
  takes the write lock only at the first write: a transaction that reads, then writes
  after another process has committed, fails at once with "database is locked" (its
  snapshot is stale, so waiting on the busy timeout cannot help);
* savepoints do not join the enclosing transaction.

SQLAlchemy's documented recipe fixes both: switch the driver's own ``BEGIN`` off and
emit ours from the engine's ``begin`` event. A writing transaction's is ``BEGIN
IMMEDIATE``, which takes the write lock at the start of the transaction, so writers
queue on ``busy_timeout`` and serialize instead of failing. Read-only work (``reading``)
begins with a plain, deferred ``BEGIN``: in WAL journal mode it reads its snapshot
while a writer holds the lock, and queues behind nobody. Only work that never writes may
go deferred: a deferred transaction that writes after another process committed fails at
once (its snapshot is stale), which is what IMMEDIATE is there to prevent.

``synchronous=NORMAL`` (in WAL mode): a commit is not synced to disk by itself, only at
checkpoints. A process crash loses nothing committed; a power cut or an OS crash can
lose the last commits, never half of one (the database stays consistent).

Nothing here is SQLite-only outside the hooks, so a ``postgresql+psycopg://`` URL works
unchanged (the driver is the caller's dependency, not paysim's).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another process's write lock before giving up."""

READ_ONLY = "paysim_read_only"
"""The execution option that marks a connection's transactions as read-only (deferred)."""


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file (made absolute, so the cwd does not matter)."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def create_engine_for(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; for SQLite, set up for several writing processes.

    Creating the engine opens no connection: the first one is made on first use.
    """
    if make_url(url).get_backend_name() != "sqlite":
        # pre_ping: a service outlives PostgreSQL restarts without failing one request.
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url)
    _install_sqlite_hooks(engine, busy_timeout_ms)
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A transaction for work that only reads: one snapshot, and no write lock taken.

    On SQLite it begins deferred, so it neither waits for a writer nor makes one wait;
    elsewhere it is an ordinary transaction. Never write through it (see the module's
    docstring); it is committed (there is nothing to commit) on a clean exit.
    """
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; _on_begin emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # No fsync per commit, only at checkpoints: the durability trade in the README.
            cursor.execute("PRAGMA synchronous = NORMAL")
            # WAL is a property of the file (it persists); asking again is a no-op.
            # An in-memory database answers "memory", which is fine.
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode and str(mode[0]).lower() not in ("wal", "memory"):
                logger.warning("SQLite refused WAL journal mode (got %s)", mode[0])
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # deferred: a snapshot, no lock
            return
        # IMMEDIATE: the write lock is taken now, waiting up to busy_timeout for it, so a
        # read-then-write transaction cannot fail halfway on another process's lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
