"""The consumer loop's batches against the real store: ``tracked`` joins the batch.

The Kafka consumer is the fake of ``test_consumer_loop``; the database is real (SQLite,
and PostgreSQL when configured), so what is checked is what is committed: each event's
state change and tracking row exactly once, whether its round was committed as one
batch or rolled back and handled one record at a time.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select

from paysim.bus.consumer import EventConsumer, RetryPolicy
from paysim.bus.reader import Record
from paysim.codec import encode_event
from paysim.domain.events import AnyEvent
from paysim.errors import TransientError
from paysim.store import UnitOfWork, tracked
from paysim.store.schema import processed_events
from tests.builders import payment_completed
from tests.unit.test_consumer_loop import FakeConsumer, FakeDeadLetters, FakeMessage

TINY = RetryPolicy(max_attempts=3, initial_backoff_s=0.001, max_backoff_s=0.004)

service_metadata = MetaData()
handled = Table(
    "batch_handled",
    service_metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(64), nullable=False),
)


@pytest.fixture
def own_tables() -> MetaData:
    return service_metadata


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _handled_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(handled.c.event_id)).scalars())


class Service:
    """A tracked handler writing one row per event; fails the events in ``failing`` once,
    after its write, so only a rollback keeps the row from being there twice."""

    def __init__(self, engine: Engine, group: str) -> None:
        self.engine = engine
        self.failing: set[str] = set()
        self.once = tracked(lambda: UnitOfWork(engine), group, self._write)

    def batch(self) -> UnitOfWork:
        return UnitOfWork(self.engine, batch=True)

    def _write(self, uow: UnitOfWork, event: AnyEvent) -> str:
        uow.connection.execute(handled.insert().values(event_id=str(event.event_id)))
        if str(event.event_id) in self.failing:
            self.failing.discard(str(event.event_id))
            raise TransientError("database is locked")
        return str(event.event_id)

    def handle(self, event: AnyEvent, _record: Record) -> None:
        self.once(event)


def _run(service: Service, messages: list[FakeMessage]) -> list[tuple[str, int | None]]:
    """Run the loop over ``messages``; what it logged, and how many batches failed."""
    stop = threading.Event()
    log: list[tuple[str, int | None]] = []
    fake = FakeConsumer(messages, stop, log)

    def factory(config: dict[str, Any]) -> FakeConsumer:
        return fake

    group = f"batch-{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(
        "127.0.0.1:1",
        group,
        ["payment-events"],
        service.handle,
        FakeDeadLetters(),  # type: ignore[arg-type]
        batch=service.batch,
        retry=TINY,
        consumer_factory=factory,  # type: ignore[arg-type]
    )
    consumer.run(stop)
    fallbacks = REGISTRY.get_sample_value(
        "payment_consumer_batch_fallbacks_total", {"group": group}
    )
    return [*log, ("fallbacks", int(fallbacks or 0))]


def _messages(*events: AnyEvent) -> list[FakeMessage]:
    return [FakeMessage(encode_event(e), offset_=n) for n, e in enumerate(events)]


def test_duplicates_inside_one_batch_are_skipped(engine: Engine) -> None:
    service = Service(engine, "batch-group")
    first, second = payment_completed(1), payment_completed(2)

    log = _run(service, _messages(first, first, second, first))

    assert _handled_ids(engine) == sorted([str(first.event_id), str(second.event_id)])
    assert _count(engine, processed_events) == 2
    assert log == [("store", 4), ("commit", None), ("close", None), ("fallbacks", 0)]


def test_a_failing_record_falls_back_with_every_other_record_handled_once(
    engine: Engine,
) -> None:
    service = Service(engine, "batch-group")
    events = [payment_completed(n) for n in (1, 2, 3)]
    service.failing.add(str(events[1].event_id))

    log = _run(service, _messages(*events))

    # The batch wrote the first two events and failed on the second: all of it was
    # rolled back, then each event was handled alone, the second retried once.
    assert _handled_ids(engine) == sorted(str(e.event_id) for e in events)
    assert _count(engine, processed_events) == 3
    assert log == [("store", 3), ("commit", None), ("close", None), ("fallbacks", 1)]


def test_a_tracked_handler_joins_the_open_batch(engine: Engine) -> None:
    service = Service(engine, "batch-group")
    events = [payment_completed(n) for n in (1, 2)]

    def both_then_fail() -> None:
        with service.batch():
            for event in events:
                service.once(event)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        both_then_fail()
    # Both events' work was in the one transaction, and went with it.
    assert _count(engine, handled) == 0
    assert _count(engine, processed_events) == 0

    with service.batch():
        answers = [service.once(e) for e in [*events, events[0]]]
    assert answers == [str(events[0].event_id), str(events[1].event_id), None]
    assert _count(engine, handled) == 2
    assert _count(engine, processed_events) == 2
