"""The analytics service: each payment event counted once, totals read on demand."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from paysim.domain.clock import utc_now
from paysim.domain.events import PaymentEvent
from paysim.domain.payment_analytics import Contribution, Totals, contribution
from paysim.services.analytics import repository as repo
from paysim.store.tracked import tracked
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

GROUP = "analytics-service"


class AnalyticsService(TransactionalService):
    """Counts and revenue, kept with each event's tracking row in one transaction."""

    def __init__(
        self, engine: Engine, *, group: str = GROUP, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(engine, clock=clock)
        self._group = group

    def record(self, event: PaymentEvent) -> bool:
        """Add ``event`` to the totals; False if it was counted before."""
        if tracked(self.uow, self._group, self._count)(event) is None:
            return False
        log.debug(
            "counted %s eventId=%s orderId=%s paymentId=%s",
            event.event_type,
            event.event_id,
            event.order_id,
            event.payment_id,
            extra={"eventId": str(event.event_id), "orderId": event.order_id},
        )
        return True

    def _count(self, uow: UnitOfWork, event: PaymentEvent) -> Contribution:
        part = contribution(event)
        repo.add(uow.connection, part, str(event.event_id), self._clock())
        return part

    def totals(self) -> Totals:
        """Everything counted so far."""
        with self.reading() as conn:
            return repo.totals(conn)
