"""The retention horizon: processed-event rows and webhook records older than it are
pruned, in bounded batches, oldest first; younger rows and other tables are left alone.

Runs on a SQLite temp file, and on PostgreSQL too when ``PAYSIM_TEST_POSTGRES_URL`` is
set (the ``url`` fixture of ``tests/unit/conftest.py``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, Table, func, insert, select

from paysim.bootstrap.common import retention_worker
from paysim.config import Settings
from paysim.services.payment.tables import metadata as payment_metadata
from paysim.services.payment.tables import webhook_events
from paysim.services.payment.webhook_repository import EXPIRING as WEBHOOKS_EXPIRING
from paysim.store import UnitOfWork, create_engine_for, create_schema
from paysim.store.processed_events import EXPIRING as PROCESSED_EVENTS
from paysim.store.retention import RetentionSweep, prune
from paysim.store.schema import metadata as store_metadata
from paysim.store.schema import processed_events

NOON = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


class Clock:
    def __init__(self) -> None:
        self.now = NOON

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """The shared tables and the payment service's (which keep the webhook records)."""
    engine = create_engine_for(url)
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            payment_metadata.drop_all(connection)
            store_metadata.drop_all(connection)
    create_schema(engine, payment_metadata)
    yield engine
    engine.dispose()


def handled(engine: Engine, clock: Clock, count: int, group: str = "order-service") -> None:
    """``count`` events recorded as handled by ``group``, at ``clock``'s time."""
    with UnitOfWork(engine, clock=clock) as uow:
        for _ in range(count):
            assert uow.processed.record(group, uuid.uuid4())


def received(engine: Engine, at: datetime, count: int) -> None:
    with engine.begin() as connection:
        for _ in range(count):
            connection.execute(
                insert(webhook_events).values(
                    stripe_event_id=f"evt_{uuid.uuid4().hex}",
                    type="payment_intent.succeeded",
                    payment_id=1,
                    applied=True,
                    note=None,
                    received_at=at,
                )
            )


def rows(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_processed_events_past_the_horizon_are_pruned_in_batches_the_rest_kept(
    engine: Engine,
) -> None:
    clock = Clock()
    handled(engine, clock, 7)
    handled(engine, clock, 2, group="analytics-service")
    clock.now += timedelta(hours=23)
    handled(engine, clock, 3)

    assert prune(engine, PROCESSED_EVENTS, NOON) == 0  # none is older than noon itself
    # Batches of 2: seven rows of the first noon take four batches, the last a short one.
    assert prune(engine, PROCESSED_EVENTS, NOON + timedelta(hours=1), batch=2) == 9
    assert rows(engine, processed_events) == 3


def test_a_pruned_event_is_no_longer_recognised_a_kept_one_still_is(engine: Engine) -> None:
    clock = Clock()
    old, young = uuid.uuid4(), uuid.uuid4()
    with UnitOfWork(engine, clock=clock) as uow:
        assert uow.processed.record("order-service", old)
    clock.now += 2 * DAY
    with UnitOfWork(engine, clock=clock) as uow:
        assert uow.processed.record("order-service", young)

    assert RetentionSweep(engine, [PROCESSED_EVENTS], DAY, clock=clock)() == {"processed_events": 1}
    with UnitOfWork(engine, clock=clock) as uow:
        assert uow.processed.seen("order-service", young)
        assert not uow.processed.seen("order-service", old)


def test_the_sweep_prunes_webhook_records_and_processed_events_to_the_horizon(
    engine: Engine,
) -> None:
    clock = Clock()
    handled(engine, clock, 4)
    received(engine, NOON, 5)
    received(engine, NOON + timedelta(hours=20), 2)
    sweep = RetentionSweep(engine, [PROCESSED_EVENTS, WEBHOOKS_EXPIRING], DAY, clock=clock)

    assert sweep() == {"processed_events": 0, "webhook_events": 0}
    clock.now += DAY + timedelta(minutes=1)
    assert sweep() == {"processed_events": 4, "webhook_events": 5}
    assert (rows(engine, processed_events), rows(engine, webhook_events)) == (0, 2)
    assert sweep() == {"processed_events": 0, "webhook_events": 0}


def test_retention_must_be_positive(engine: Engine) -> None:
    with pytest.raises(ValueError, match="retention"):
        RetentionSweep(engine, [PROCESSED_EVENTS], timedelta(0))


def test_the_retention_worker_prunes_with_the_settings_horizon(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("paysim.bootstrap.common.RETENTION_INTERVAL_S", 0.01)
    received(engine, datetime.now(UTC) - timedelta(hours=2), 3)
    received(engine, datetime.now(UTC), 1)
    handled(engine, Clock(), 2)  # 2025: long past any horizon
    worker = retention_worker(Settings(retention_hours=1), "payment", engine, WEBHOOKS_EXPIRING)
    assert worker.name == "payment-retention"

    stop = threading.Event()
    thread = threading.Thread(target=worker.target, args=(stop,))
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while rows(engine, webhook_events) != 1 and datetime.now(UTC) < deadline:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(5)
    assert (rows(engine, webhook_events), rows(engine, processed_events)) == (1, 0)
