"""The order service's hot path, in one process: its real consumer over preloaded events.

The service's own wiring (:func:`paysim.bootstrap.common.consumer_workers` around
:func:`paysim.services.order.event_reactions.order_handler`) against a fresh SQLite
database: every record is decoded, checked against the processed-events table, applied
to its order (created by PAYMENT_INITIATED, moved to PENDING by PAYMENT_COMPLETED, with
its outbox row), and its offset stored. The rate runs from the first record handled to
the last; a run that reaches ``max_s`` stops there, its rate over the records handled.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from uuid import uuid4

from paysim.bench.figures import Throughput
from paysim.bench.plan_events import fresh_topic, plan_records, preload
from paysim.bootstrap.common import batching, consumer_workers, service_engine
from paysim.bootstrap.order import deadlines
from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.config import Settings
from paysim.domain.events import AnyEvent
from paysim.errors import InfraError
from paysim.services.faults import FaultPoints
from paysim.services.order import event_reactions
from paysim.services.order.payment_client import PaymentClient
from paysim.services.order.service import OrderService
from paysim.services.order.tables import metadata
from paysim.store.database import sqlite_url

UNUSED_PAYMENT_API = "http://127.0.0.1:9"
"""These events never make the order service call the payment API (no cancellation)."""


class _Counter:
    """Wraps the handler: counts distinct records handled, notes the first and last."""

    def __init__(self, handler: Handler, wanted: int) -> None:
        self._handler = handler
        self._wanted = wanted
        self._seen: set[tuple[str, int, int]] = set()
        self.first = 0.0
        self.last = 0.0
        self.done = threading.Event()

    def __call__(self, event: AnyEvent, record: Record) -> None:
        self._handler(event, record)
        now = time.monotonic()
        if not self._seen:
            self.first = now
        self._seen.add((record.topic, record.partition, record.offset))
        self.last = now
        if len(self._seen) >= self._wanted:
            self.done.set()

    @property
    def handled(self) -> int:
        return len(self._seen)


def measure(
    settings: Settings, bootstrap_servers: str, events: int, work_dir: Path, *, max_s: float
) -> Throughput:
    """Preload ``events`` plan-shaped records and run the order service's consumer over
    them until every one is handled, or for ``max_s`` seconds."""
    topic = fresh_topic(bootstrap_servers, "hot-path")
    preload(bootstrap_servers, topic, list(plan_records(events)))
    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / f"hot-path-{uuid4().hex[:8]}.db"
    engine = service_engine(settings, "order", sqlite_url(db), metadata)
    service = OrderService(
        engine, PaymentClient(UNUSED_PAYMENT_API), FaultPoints(), deadlines=deadlines(settings)
    )
    group = f"bench-order-{uuid4().hex[:8]}"
    counter = _Counter(event_reactions.order_handler(service, group), events)
    worker = next(
        w
        for w in consumer_workers(
            bootstrap_servers,
            group,
            [topic],
            counter,
            batch=service.batch,
            batches=batching(settings),
        )
        if w.name.endswith("-consumer")
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.target, args=(stop,), name=worker.name, daemon=True)
    thread.start()
    try:
        counter.done.wait(max_s)
        if not counter.handled:
            raise InfraError(f"the hot path handled none of {events} records in {max_s:g} s")
    finally:
        stop.set()
        thread.join(timeout=60)
        engine.dispose()
    return Throughput(counter.handled, counter.last - counter.first)
