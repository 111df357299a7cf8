"""What every service built on its own database shares: units of work, read-only
transactions, its clock, a probe."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from paysim.domain.clock import utc_now
from paysim.store.database import reading
from paysim.store.unit_of_work import UnitOfWork


class TransactionalService:
    """A service whose every operation is a unit of work on its database.

    The clock is the service's one source of time (tests pass a fake one); it stamps the
    rows the service writes and the outbox and tracking rows alike.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    def uow(self) -> UnitOfWork:
        """A new unit of work on the service's database."""
        return UnitOfWork(self._engine, clock=self._clock)

    def batch(self) -> UnitOfWork:
        """A batch unit of work, which the service's tracked handlers join while it is
        open (the consumer loop's ``BatchScope``)."""
        return UnitOfWork(self._engine, clock=self._clock, batch=True)

    def reading(self) -> AbstractContextManager[Connection]:
        """A read-only transaction on the service's database (``database.reading``): for
        work that only reads, such as the API's GETs and the scans before a timer acts."""
        return reading(self._engine)

    def now(self) -> datetime:
        return self._clock()

    def check_store(self) -> None:
        """Reads the store: a broken database fails the health check."""
        with self.reading() as conn:
            conn.execute(text("SELECT 1"))
