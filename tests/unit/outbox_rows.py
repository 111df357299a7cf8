"""A few orders' sagas committed to an outbox, what a relay should publish of them, and
the relay's loop run in a thread.

For the relay's unit tests; their database is the ``engine`` fixture of ``conftest.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from paysim.domain.events import AnyEvent, PaymentEventType
from paysim.domain.status import PaymentStatus
from paysim.store import OutboxRecord, OutboxRelay, UnitOfWork
from paysim.store.outbox import Outbox
from tests.builders import make_event, order_confirmed
from tests.fakes import FakePublisher


def saga_events(order_id: int) -> list[AnyEvent]:
    payment = {"payment_id": order_id, "amount_minor": 1000 + order_id, "currency": "usd"}
    return [
        make_event(
            PaymentEventType.PAYMENT_INITIATED, order_id, status=PaymentStatus.PENDING, **payment
        ),
        make_event(
            PaymentEventType.PAYMENT_COMPLETED,
            order_id,
            status=PaymentStatus.COMPLETED,
            previous_status=PaymentStatus.PROCESSING,
            **payment,
        ),
        order_confirmed(order_id),
    ]


def commit_interleaved(engine: Engine, orders: int = 3) -> list[AnyEvent]:
    """Commit each order's saga, one event per transaction, orders interleaved."""
    sagas = [saga_events(order_id) for order_id in range(1, orders + 1)]
    committed: list[AnyEvent] = []
    for step in range(3):
        for saga in sagas:
            with UnitOfWork(engine) as uow:
                uow.outbox.add(saga[step])
            committed.append(saga[step])
    return committed


def expected_records(events: list[AnyEvent]) -> list[tuple[str, str]]:
    """(topic, eventId) in publish order: each event on its own topic, then the catch-all."""
    family = {"PAYMENT": "payment-events", "ORDER": "order-events"}
    return [
        (topic, str(event.event_id))
        for event in events
        for topic in (
            event.event_type.value.lower().replace("_", "-"),
            family[event.event_type.value.split("_")[0]],
        )
    ]


def seen(publisher: FakePublisher) -> list[tuple[str, str]]:
    return [(d.topic, d.headers["eventId"]) for d in publisher.delivered]


def pending(engine: Engine) -> list[OutboxRecord]:
    with engine.begin() as connection:
        return Outbox(connection).pending(limit=1_000)


@contextmanager
def relay_running(relay: OutboxRelay) -> Iterator[None]:
    """The relay's ``run`` loop in a thread for the ``with`` block; stopped after it."""
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def wait_until(done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll ``done`` until it holds or the deadline passes (the caller asserts after)."""
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)
