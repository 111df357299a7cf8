"""The order service process: API, event consumer, outbox relay, deadline sweep, and
the retrier of payment cancels not yet answered."""

from __future__ import annotations

from datetime import timedelta

from paysim.bootstrap.common import (
    ServiceProcess,
    admin_token,
    batching,
    consumer_workers,
    periodic_worker,
    relay_worker,
    retention_worker,
    service_engine,
)
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.domain.saga import Deadlines
from paysim.services.faults import FaultPoints
from paysim.services.order import event_reactions, payment_cancels
from paysim.services.order.payment_client import PaymentClient
from paysim.services.order.service import OrderService
from paysim.services.order.tables import metadata

SWEEP_INTERVAL_S = 0.5


def deadlines(settings: Settings) -> Deadlines:
    return Deadlines(
        payment_pending=timedelta(seconds=settings.deadline_payment_pending_s),
        payment_failed=timedelta(seconds=settings.deadline_payment_failed_s),
        restaurant_accept=timedelta(seconds=settings.deadline_restaurant_accept_s),
        cancelling=timedelta(seconds=settings.deadline_cancelling_s),
    )


def build_process(
    settings: Settings,
    *,
    bootstrap_servers: str,
    payment_api: str,
    db_url: str | None = None,
    group: str = event_reactions.GROUP,
) -> ServiceProcess:
    from paysim.api.order_api import create_app

    engine = service_engine(settings, "order", db_url, metadata)
    service = OrderService(
        engine, PaymentClient(payment_api), FaultPoints(), deadlines=deadlines(settings)
    )
    producer = EventProducer(bootstrap_servers, client_id="order-service")
    handler = event_reactions.order_handler(service, group)
    process = ServiceProcess(
        producer=producer,
        workers=[
            relay_worker(settings, "order", engine, producer),
            *consumer_workers(
                bootstrap_servers,
                group,
                event_reactions.TOPICS,
                handler,
                batch=service.batch,
                batches=batching(settings),
            ),
            periodic_worker("order-deadline-sweeper", SWEEP_INTERVAL_S, service.sweep_deadlines),
            periodic_worker(
                "order-cancel-retrier", SWEEP_INTERVAL_S, lambda: payment_cancels.retry_due(service)
            ),
            retention_worker(settings, "order", engine),
        ],
    )
    process.app = create_app(
        service, admin_token=admin_token(settings), dead_workers=process.dead_workers
    )
    return process
