"""The delivery service process: API, outbox relay, order consumer, courier timers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from paysim.bootstrap.common import (
    ServiceProcess,
    Worker,
    batching,
    consumer_workers,
    relay_worker,
    retention_worker,
    service_engine,
)
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.domain.clock import utc_now
from paysim.domain.delivery_schedule import CourierSimulation
from paysim.services.delivery import courier_timers, order_consumer
from paysim.services.delivery.service import DeliveryService
from paysim.services.delivery.tables import metadata

SERVICE = "delivery"


def build_process(
    settings: Settings,
    *,
    bootstrap_servers: str,
    db_url: str | None = None,
    group: str = order_consumer.GROUP,
    with_relay: bool = True,
    with_consumer: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> ServiceProcess:
    """``group``: the consumer group (tests give each run its own)."""
    from paysim.api.delivery_api import create_app

    engine = service_engine(settings, SERVICE, db_url, metadata)
    simulation = CourierSimulation(seed=settings.seed, step_s=settings.delivery_step_s)
    service = DeliveryService(engine, simulation, group=group, clock=clock)
    producer = EventProducer(bootstrap_servers, client_id="delivery-service")
    process = ServiceProcess(producer=producer)
    process.app = create_app(service, dead_workers=process.dead_workers)
    if with_relay:
        process.workers.append(relay_worker(settings, SERVICE, engine, producer))
    if with_consumer:
        handler = order_consumer.order_handler(service)
        process.workers += consumer_workers(
            bootstrap_servers,
            group,
            order_consumer.TOPICS,
            handler,
            batch=service.batch,
            batches=batching(settings),
        )
    poll_s = courier_timers.poll_interval_s(settings.delivery_step_s)

    def timers(stop: threading.Event) -> None:
        courier_timers.run_timers(service, stop, poll_s)

    process.workers.append(Worker(courier_timers.WORKER, timers))
    process.workers.append(retention_worker(settings, SERVICE, engine))
    return process
