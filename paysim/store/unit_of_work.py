"""One database transaction for one piece of work: state, owed events, tracking row.

A handler changes its service's tables, adds the events it owes to the outbox and
records the event it consumed, all through one ``UnitOfWork``, so they are committed
together or not at all. That is what removes the plan's dual writes: no event is
published for a state change that was rolled back, no state change is left without its
events, and no event is applied twice because its tracking row was lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, RootTransaction

from paysim.domain.clock import utc_now
from paysim.store.outbox import Outbox
from paysim.store.processed_events import ProcessedEvents

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# The engines each thread has a unit of work open on. A second one on the same engine
# would be a second connection and transaction inside the first: not atomic with it, and
# on SQLite its BEGIN IMMEDIATE waits (busy_timeout) for the lock its own thread holds.
# Of those, the batch units of work, which ``open_batch`` hands to the work that joins.
_open_here = threading.local()


def _engines_open_here() -> set[int]:
    engines: set[int] | None = getattr(_open_here, "engines", None)
    if engines is None:
        engines = _open_here.engines = set()
    return engines


def _batches_open_here() -> dict[int, UnitOfWork]:
    batches: dict[int, UnitOfWork] | None = getattr(_open_here, "batches", None)
    if batches is None:
        batches = _open_here.batches = {}
    return batches


class UnitOfWork:
    """A transaction scope: commits on a clean exit of ``with``, rolls back on an exception.

    Commit-on-exit (the same rule as SQLAlchemy's ``engine.begin()``) means a handler
    cannot forget to commit; to abandon the work, raise. The object can be reused: each
    ``with`` opens a new connection and transaction, and ``connection``, ``outbox`` and
    ``processed`` are usable only inside it::

        with uow:
            uow.connection.execute(update(orders)...)
            uow.outbox.add(order_confirmed)

    A consumer's handler gets its unit of work from ``paysim.store.tracked``, which
    records the consumed event in it first and skips an event seen before.

    ``batch=True`` makes a batch unit of work: the consumer loop opens one around a
    round of records, and while it is open, ``open_batch`` hands it to the handlers
    (``tracked`` joins it instead of opening a transaction of its own), so the whole
    round is committed together, or rolled back together and handled again record by
    record.
    """

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = utc_now, batch: bool = False
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._batch = batch
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._outbox: Outbox | None = None
        self._processed: ProcessedEvents | None = None
        self._after_commit: list[Callable[[], object]] = []

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("UnitOfWork is already in a transaction; it does not nest")
        open_here = _engines_open_here()
        if id(self._engine) in open_here:
            raise RuntimeError(
                "a unit of work is already open on this database in this thread; pass it "
                "down instead of opening a second transaction inside it"
            )
        connection = self._engine.connect()
        try:
            self._transaction = connection.begin()
        except BaseException:
            connection.close()
            raise
        open_here.add(id(self._engine))
        if self._batch:
            _batches_open_here()[id(self._engine)] = self
        self._connection = connection
        self._outbox = Outbox(connection, clock=self._clock)
        self._processed = ProcessedEvents(connection, clock=self._clock)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, transaction = self._connection, self._transaction
        self._connection = self._transaction = self._outbox = self._processed = None
        if connection is None or transaction is None:
            return
        _engines_open_here().discard(id(self._engine))
        _batches_open_here().pop(id(self._engine), None)
        callbacks, self._after_commit = self._after_commit, []
        try:
            if exc_type is None:
                transaction.commit()
            else:
                transaction.rollback()
                logger.debug("unit of work rolled back: %s", exc_type.__name__)
                return
        finally:
            connection.close()
        for callback in callbacks:
            try:
                callback()
            except Exception:
                # The work is committed; a failed notice must not undo the caller's success.
                logger.exception("after-commit callback failed")

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once this transaction has committed (never if it rolls back).

        For telling others that committed state changed (waiters, sleeping relays): they
        read it back after the notice, so the notice must not come before the commit.
        """
        self._active(self._connection)
        self._after_commit.append(callback)

    def open_batch(self) -> UnitOfWork | None:
        """The batch unit of work open on this one's database in this thread, if any."""
        return _batches_open_here().get(id(self._engine))

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for the service's own tables."""
        return self._active(self._connection)

    @property
    def outbox(self) -> Outbox:
        """The outbox, writing in this transaction."""
        return self._active(self._outbox)

    @property
    def processed(self) -> ProcessedEvents:
        """The processed-event tracking rows, written in this transaction."""
        return self._active(self._processed)

    @staticmethod
    def _active(value: _T | None) -> _T:
        if value is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return value
