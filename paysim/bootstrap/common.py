"""What every service process is made of, and the parts they all build the same way."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, MetaData

from paysim import metrics
from paysim.bus.consumer import EventConsumer, Handler
from paysim.bus.dead_letters import DeadLetterWriter
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.observe.lag import lag_worker
from paysim.store.database import create_engine_for, sqlite_url
from paysim.store.outbox import OutboxRecord
from paysim.store.outbox_relay import OutboxRelay, RelayHooks
from paysim.store.schema import create_schema

log = logging.getLogger(__name__)

LAG_INTERVAL_S = 2.0

LAG_INTERVAL_S = 2.0


@dataclass
class Worker:
    """A named background loop that runs until the shared stop event is set."""

    name: str
    target: Callable[[threading.Event], None]


@dataclass
class ServiceProcess:
    """What a service process runs: an HTTP app (or none) and its background workers."""

    app: FastAPI | None
    producer: EventProducer
    workers: list[Worker] = field(default_factory=list)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=w.target, args=(stop,), name=w.name, daemon=True)
            for w in self.workers
        ]
        for thread in threads:
            thread.start()
        return threads

    def shutdown(self, threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.join(timeout=15)
        # Flush on exit: anything the relay handed over must reach the broker.
        self.producer.close()


def default_db_path(settings: Settings, service: str) -> Path:
    """Where a service keeps its SQLite database unless given a URL: the run folder's."""
    return Path(settings.resolved_run_dir) / "services" / f"{service}.db"


def default_db_url(settings: Settings, service: str) -> str:
    path = default_db_path(settings, service)
    path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite_url(path)


def service_engine(
    settings: Settings, service: str, db_url: str | None, *tables: MetaData
) -> Engine:
    """The service's own database, with the shared tables and its own created."""
    engine = create_engine_for(db_url or default_db_url(settings, service))
    create_schema(engine, *tables)
    return engine


def relay_hooks(service: str) -> RelayHooks:
    def published(record: OutboxRecord, latency_s: float) -> None:
        # Count each event once, on its own topic, not again on the catch-all copy.
        if not record.topic.endswith("-events"):
            metrics.EVENTS_PUBLISHED.labels(record.event_type).inc()
        metrics.RELAY_PUBLISH_SECONDS.labels(service).observe(latency_s)

    def backlog(rows: int, _oldest_s: float | None) -> None:
        metrics.OUTBOX_BACKLOG.labels(service).set(rows)

    def parked(record: OutboxRecord, _error: Exception) -> None:
        metrics.OUTBOX_PARKED.labels(service, record.event_type).inc()

    def parked_rows(rows: int) -> None:
        metrics.OUTBOX_PARKED_ROWS.labels(service).set(rows)

    return RelayHooks(
        on_published=published,
        on_backlog=backlog,
        on_parked=parked,
        on_parked_rows=parked_rows,
    )


def relay_worker(
    settings: Settings, service: str, engine: Engine, producer: EventProducer
) -> Worker:
    relay = OutboxRelay(
        engine,
        producer,
        max_attempts=settings.outbox_max_attempts,
        retention=timedelta(hours=settings.retention_hours),
        hooks=relay_hooks(service),
    )
    return Worker(f"{service}-relay", relay.run)


def consumer_workers(
    bootstrap_servers: str, group: str, topics: Iterable[str], handler: Handler
) -> list[Worker]:
    """A consumer in ``group`` over ``topics`` (with its own dead-letter producer), and a
    worker exporting the group's lag per partition on this process's /metrics."""
    watched = list(topics)
    consumer = EventConsumer(
        bootstrap_servers,
        group,
        watched,
        handler,
        DeadLetterWriter(EventProducer(bootstrap_servers, client_id=f"{group}-dlq")),
    )
    joined = threading.Event()
    return [
        Worker(f"{group}-consumer", lambda stop: consumer.run(stop, ready=joined)),
        Worker(
            f"{group}-lag",
            lag_worker(
                bootstrap_servers, [group], LAG_INTERVAL_S, topics=watched, start_after=joined
            ),
        ),
    ]


def build_relay_process(
    settings: Settings, *, service: str, bootstrap_servers: str, db_url: str | None = None
) -> ServiceProcess:
    """A standalone relay over a service's outbox (``paysim serve relay``)."""
    engine = service_engine(settings, service, db_url)
    producer = EventProducer(bootstrap_servers, client_id=f"{service}-relay")
    return ServiceProcess(
        app=None, producer=producer, workers=[relay_worker(settings, service, engine, producer)]
    )
