"""Storage shared by every service: unit of work, transactional outbox and its relay,
processed-event tracking (``tracked``), audit trails. SQLAlchemy Core; SQLite files by
default, PostgreSQL by URL."""

from paysim.store.database import create_engine_for, sqlite_url
from paysim.store.outbox import Outbox, OutboxRecord
from paysim.store.outbox_relay import OutboxRelay, RelayHooks
from paysim.store.ports import DeliveryCallback, Publisher
from paysim.store.processed_events import ProcessedEvents
from paysim.store.schema import create_schema, metadata
from paysim.store.tracked import tracked
from paysim.store.unit_of_work import UnitOfWork

__all__ = [
    "DeliveryCallback",
    "Outbox",
    "OutboxRecord",
    "OutboxRelay",
    "ProcessedEvents",
    "Publisher",
    "RelayHooks",
    "UnitOfWork",
    "create_engine_for",
    "create_schema",
    "metadata",
    "sqlite_url",
    "tracked",
]
