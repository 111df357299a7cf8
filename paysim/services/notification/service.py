"""The notification service: each event a customer hears about becomes its messages.

Sending is simulated: a message is "sent" by recording it, with the event's tracking
row, in one transaction. A redelivered event finds its tracking row and sends nothing;
should a second consumer group share the store, the (eventId, channel) key still keeps
every message to one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from paysim.domain.clock import utc_now
from paysim.domain.events import AnyEvent, DeliveryEvent
from paysim.services.notification import repository as repo
from paysim.services.notification.messages import Message, messages_for
from paysim.services.notification.repository import Notification
from paysim.store.tracked import tracked
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

GROUP = "notification-service"


class NotificationService(TransactionalService):
    """Records the messages each event causes, once."""

    def __init__(
        self, engine: Engine, *, group: str = GROUP, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(engine, clock=clock)
        self._group = group

    def notify(self, event: AnyEvent) -> int:
        """Send (record) the messages of ``event``; returns how many were new."""
        outcome = tracked(self.uow, self._group, self._send)(event)
        if outcome is None:
            return 0
        recipient, sent = outcome
        for message in sent:
            log.info(
                "sent %s %s to userId=%s orderId=%s eventId=%s",
                message.channel,
                message.template,
                recipient,
                event.order_id,
                event.event_id,
                extra={"eventId": str(event.event_id), "orderId": event.order_id},
            )
        return len(sent)

    def _send(self, uow: UnitOfWork, event: AnyEvent) -> tuple[int | None, list[Message]]:
        """(recipient, the messages recorded now) for an event seen the first time."""
        user_id = None if isinstance(event, DeliveryEvent) else event.user_id
        recipient = repo.recipient(uow.connection, event.order_id, user_id)
        now = self._clock()
        sent = [
            m
            for m in messages_for(event)
            if repo.add(
                uow.connection,
                event_id=str(event.event_id),
                event_type=event.event_type.value,
                order_id=event.order_id,
                user_id=recipient,
                message=m,
                event_at=event.timestamp,
                now=now,
            )
        ]
        return recipient, sent

    def notifications(
        self,
        *,
        order_id: int | None = None,
        user_id: int | None = None,
        limit: int = repo.DEFAULT_LIMIT,
    ) -> list[Notification]:
        with self.reading() as conn:
            return repo.query(conn, order_id=order_id, user_id=user_id, limit=limit)

    def counts_by_channel(self) -> dict[str, int]:
        with self.reading() as conn:
            return repo.counts_by_channel(conn)
