"""The analytics service process: API and payment-events consumer (it publishes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from paysim.bootstrap.common import (
    ServiceProcess,
    batching,
    consumer_only_process,
    retention_worker,
    service_engine,
)
from paysim.config import Settings
from paysim.domain.clock import utc_now
from paysim.services.analytics import payment_consumer
from paysim.services.analytics.service import AnalyticsService
from paysim.services.analytics.tables import metadata

SERVICE = "analytics"


def build_process(
    settings: Settings,
    *,
    bootstrap_servers: str,
    db_url: str | None = None,
    group: str = payment_consumer.GROUP,
    with_consumer: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> ServiceProcess:
    """``group``: the consumer group (tests give each run its own)."""
    from paysim.api.analytics_api import create_app

    engine = service_engine(settings, SERVICE, db_url, metadata)
    service = AnalyticsService(engine, group=group, clock=clock)
    handler = payment_consumer.analytics_handler(service) if with_consumer else None
    app = partial(create_app, service)
    process = consumer_only_process(
        app,
        bootstrap_servers,
        group,
        payment_consumer.TOPICS,
        handler,
        batch=service.batch,
        batches=batching(settings),
    )
    process.workers.append(retention_worker(settings, SERVICE, engine))
    return process
