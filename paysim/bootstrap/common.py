"""What every service process is made of, and the parts they all build the same way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, MetaData

from paysim import metrics, stack_secrets
from paysim.bus.consumer import Batching, BatchScope, EventConsumer, Handler, RetryPolicy
from paysim.bus.dead_letters import DeadLetterWriter
from paysim.bus.producer import EventProducer
from paysim.config import Settings
from paysim.observe.lag import lag_worker
from paysim.services.periodic import periodic
from paysim.store.database import SQLITE_BUSY_TIMEOUT_MS, create_engine_for, sqlite_url
from paysim.store.outbox import OutboxRecord
from paysim.store.outbox_relay import OutboxRelay, RelayHooks
from paysim.store.processed_events import EXPIRING as PROCESSED_EVENTS
from paysim.store.retention import Expiring, RetentionSweep
from paysim.store.schema import create_schema

LAG_INTERVAL_S = 10.0
"""How often a service measures its group's lag: a telemetry gauge, and each measurement
is a handful of broker requests."""
CONSUMER_FETCH_TUNING: dict[str, int] = {
    # The broker answers a fetch as soon as one record is there (fetch.min.bytes=1), so a
    # longer wait adds no latency to a hop: it only spaces out a quiet consumer's empty
    # fetches (librdkafka's 500 ms default: two requests a second per idle consumer).
    "fetch.wait.max.ms": 2000,
}
RETENTION_INTERVAL_S = 300.0
RELAY_POLL_S = 1.0
"""How often a relay beside its service's writers looks for rows nobody woke it for."""
STANDALONE_RELAY_POLL_S = 0.1
"""How often a relay in a process of its own polls: no commit there can wake it."""


@dataclass
class Worker:
    """A named background loop that runs until the shared stop event is set."""

    name: str
    target: Callable[[threading.Event], None]


def admin_token(settings: Settings) -> SecretStr | None:
    """The token that opens the process's testbench controls; None with test mode off."""
    return stack_secrets.resolve(settings).admin_token if settings.test_mode else None


def periodic_worker(name: str, interval_s: float, fn: Callable[[], object]) -> Worker:
    """A worker calling ``fn`` every ``interval_s`` seconds, surviving its errors."""
    return Worker(name, lambda stop: periodic(name, interval_s, fn, stop))


@dataclass
class ServiceProcess:
    """What a service process runs: an HTTP app (or none) and its background workers.

    Build the process first and its app after, so that the app's ``/healthz`` can ask
    ``dead_workers`` about the threads ``start`` runs.
    """

    producer: EventProducer | None = None
    """What the relay publishes through (None: the service publishes nothing)."""
    app: FastAPI | None = None
    workers: list[Worker] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list, init=False, repr=False)
    _stop: threading.Event | None = field(default=None, init=False, repr=False)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=w.target, args=(stop,), name=w.name, daemon=True)
            for w in self.workers
        ]
        self._threads, self._stop = threads, stop
        for thread in threads:
            thread.start()
        return threads

    def dead_workers(self) -> list[str]:
        """The workers whose thread has ended while the process is not stopping."""
        if self._stop is None or self._stop.is_set():
            return []
        return [thread.name for thread in self._threads if not thread.is_alive()]

    def shutdown(self, threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.join(timeout=15)
        # Flush on exit: anything the relay handed over must reach the broker.
        if self.producer is not None:
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
    settings: Settings,
    service: str,
    engine: Engine,
    producer: EventProducer,
    *,
    poll_interval_s: float = RELAY_POLL_S,
) -> Worker:
    """The service's outbox relay, woken by its commits on ``engine`` in this process."""
    relay = OutboxRelay(
        engine,
        producer,
        poll_interval_s=poll_interval_s,
        max_attempts=settings.outbox_max_attempts,
        retention=timedelta(hours=settings.retention_hours),
        hooks=relay_hooks(service),
    )
    return Worker(f"{service}-relay", relay.run)


def retention_worker(settings: Settings, service: str, engine: Engine, *tables: Expiring) -> Worker:
    """A worker pruning the service's processed-event rows, and ``tables``' expiring
    rows, past the retention horizon (the relay prunes the outbox's sent rows itself)."""
    sweep = RetentionSweep(
        engine, [PROCESSED_EVENTS, *tables], timedelta(hours=settings.retention_hours)
    )
    return periodic_worker(f"{service}-retention", RETENTION_INTERVAL_S, sweep)


ONE_TRANSACTION_S = SQLITE_BUSY_TIMEOUT_MS / 1000
"""The longest a handler writing one transaction waits: the store's busy timeout."""


def batching(settings: Settings) -> Batching:
    """How the service's consumers take their records in batches."""
    return Batching(
        max_records=settings.consumer_batch_max_records,
        consume_timeout_s=settings.consumer_consume_timeout_s,
    )


def consumer_workers(
    bootstrap_servers: str,
    group: str,
    topics: Iterable[str],
    handler: Handler,
    *,
    attempt_limit_s: float = ONE_TRANSACTION_S,
    batch: BatchScope | None = None,
    batches: Batching = Batching(),
) -> list[Worker]:
    """A consumer in ``group`` over ``topics`` (with its own dead-letter producer), and a
    worker exporting the group's lag per partition on this process's /metrics.

    ``attempt_limit_s`` is the longest one handler attempt can take; the consumer's poll
    interval is sized from it. ``batch``: the service's batch unit of work, for a handler
    that only writes its own database (None: one record at a time, each in its own).
    """
    watched = list(topics)
    consumer = EventConsumer(
        bootstrap_servers,
        group,
        watched,
        handler,
        DeadLetterWriter(EventProducer(bootstrap_servers, client_id=f"{group}-dlq")),
        batch=batch,
        batching=batches,
        retry=RetryPolicy(attempt_limit_s=attempt_limit_s),
        overrides=CONSUMER_FETCH_TUNING,
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


def consumer_only_process(
    create_app: Callable[..., FastAPI],
    bootstrap_servers: str,
    group: str,
    topics: Iterable[str],
    handler: Handler | None,
    *,
    batch: BatchScope | None = None,
    batches: Batching = Batching(),
) -> ServiceProcess:
    """A process that publishes nothing: the app ``create_app(dead_workers=...)`` makes,
    and a consumer in ``group`` unless ``handler`` is None (``batch``, ``batches``: as
    for ``consumer_workers``)."""
    process = ServiceProcess()
    process.app = create_app(dead_workers=process.dead_workers)
    if handler is not None:
        process.workers += consumer_workers(
            bootstrap_servers, group, topics, handler, batch=batch, batches=batches
        )
    return process


def build_relay_process(
    settings: Settings, *, service: str, bootstrap_servers: str, db_url: str | None = None
) -> ServiceProcess:
    """A standalone relay over a service's outbox (``paysim serve relay``)."""
    engine = service_engine(settings, service, db_url)
    producer = EventProducer(bootstrap_servers, client_id=f"{service}-relay")
    relay = relay_worker(
        settings, service, engine, producer, poll_interval_s=STANDALONE_RELAY_POLL_S
    )
    return ServiceProcess(producer=producer, workers=[relay])
