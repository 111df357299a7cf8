"""Reading and writing notifications, and who an order belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Connection

from paysim.domain.clock import as_utc
from paysim.services.notification.messages import Message
from paysim.services.notification.tables import metadata, notifications, recipients
from paysim.store.database import create_engine_for, reading
from paysim.store.insert_if_absent import InsertIfAbsent
from paysim.store.schema import create_schema

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

_ADD = InsertIfAbsent(notifications)


@dataclass(frozen=True, slots=True)
class Notification:
    """A message recorded as sent."""

    id: int
    event_id: str
    event_type: str
    channel: str
    order_id: int
    user_id: int | None
    template: str
    subject: str
    text: str
    event_at: datetime
    sent_at: datetime

    def view(self) -> dict[str, Any]:
        """As JSON (camelCase), for the HTTP API and the CLI."""
        return {
            "id": self.id,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "channel": self.channel,
            "orderId": self.order_id,
            "userId": self.user_id,
            "template": self.template,
            "subject": self.subject,
            "text": self.text,
            "eventAt": self.event_at.isoformat(),
            "sentAt": self.sent_at.isoformat(),
        }


def _notification(row: Any) -> Notification:
    return Notification(
        id=int(row.id),
        event_id=row.event_id,
        event_type=row.event_type,
        channel=row.channel,
        order_id=int(row.order_id),
        user_id=None if row.user_id is None else int(row.user_id),
        template=row.template,
        subject=row.subject,
        text=row.body,
        event_at=as_utc(row.event_at),
        sent_at=as_utc(row.sent_at),
    )


def add(
    conn: Connection,
    *,
    event_id: str,
    event_type: str,
    order_id: int,
    user_id: int | None,
    message: Message,
    event_at: datetime,
    now: datetime,
) -> bool:
    """Record ``message`` as sent; False if this event's message on that channel was."""
    return _ADD(
        conn,
        {
            "event_id": event_id,
            "event_type": event_type,
            "channel": message.channel.value,
            "order_id": order_id,
            "user_id": user_id,
            "template": message.template,
            "subject": message.subject,
            "body": message.text,
            "event_at": event_at,
            "sent_at": now,
        },
    )


def recipient(conn: Connection, order_id: int, user_id: int | None) -> int | None:
    """The order's customer: ``user_id`` (remembered) if the event names one, else as known."""
    known = conn.execute(
        select(recipients.c.user_id).where(recipients.c.order_id == order_id)
    ).scalar_one_or_none()
    if user_id is None:
        return None if known is None else int(known)
    if known is None:
        conn.execute(insert(recipients).values(order_id=order_id, user_id=user_id))
    elif int(known) != user_id:
        conn.execute(
            update(recipients).where(recipients.c.order_id == order_id).values(user_id=user_id)
        )
    return user_id


def query(
    conn: Connection,
    *,
    order_id: int | None = None,
    user_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Notification]:
    """Newest first."""
    statement = select(notifications).order_by(notifications.c.id.desc()).limit(limit)
    if order_id is not None:
        statement = statement.where(notifications.c.order_id == order_id)
    if user_id is not None:
        statement = statement.where(notifications.c.user_id == user_id)
    return [_notification(row) for row in conn.execute(statement)]


def counts_by_channel(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(notifications.c.channel, func.count()).group_by(notifications.c.channel)
    )
    return {channel: int(count) for channel, count in rows}


def list_notifications(
    engine_or_url: Engine | str,
    order_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    *,
    user_id: int | None = None,
) -> list[Notification]:
    """The notifications recorded in a notification store, newest first (for the CLI).

    Given a URL, opens the store (creating its tables if it has none yet, so that a
    store nothing was sent to answers an empty list) and closes it again.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    if isinstance(engine_or_url, str):
        engine = create_engine_for(engine_or_url)
        try:
            create_schema(engine, metadata)
            return list_notifications(engine, order_id, limit, user_id=user_id)
        finally:
            engine.dispose()
    with reading(engine_or_url) as conn:
        return query(conn, order_id=order_id, user_id=user_id, limit=limit)
