"""The notification service process: API and event consumer (it publishes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from paysim.bootstrap.common import ServiceProcess, consumer_workers, service_engine
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.domain.clock import utc_now
from paysim.services.notification import event_consumer
from paysim.services.notification.service import NotificationService
from paysim.services.notification.tables import metadata

SERVICE = "notification"


def build_process(
    settings: Settings,
    *,
    bootstrap_servers: str,
    db_url: str | None = None,
    group: str = event_consumer.GROUP,
    with_consumer: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> ServiceProcess:
    """``group``: the consumer group (tests give each run its own)."""
    from paysim.api.notification_api import create_app

    engine = service_engine(settings, SERVICE, db_url, metadata)
    service = NotificationService(engine, group=group, clock=clock)
    # Nothing is published, so no relay; the producer is what ServiceProcess flushes
    # (lazy: it never connects).
    producer = EventProducer(bootstrap_servers, client_id="notification-service")
    process = ServiceProcess(app=create_app(service), producer=producer)
    if with_consumer:
        process.workers.extend(
            consumer_workers(
                bootstrap_servers,
                group,
                event_consumer.TOPICS,
                event_consumer.notification_handler(service),
            )
        )
    return process
