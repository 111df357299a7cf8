"""Contract of paysim.store, run against every configured database.

``StoreContract`` holds the tests; each backend subclasses it and supplies the ``url`` of
its database (``conftest``'s ``engine`` sets it up). SQLite (a temp file) always runs.
PostgreSQL runs when ``PAYSIM_TEST_POSTGRES_URL`` names a throwaway database (its paysim
tables are dropped and recreated); without it there is no PostgreSQL class at all, rather
than a skip.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError, OperationalError

from paysim.codec import decode_event
from paysim.domain.events import AnyEvent, DeliveryEvent, DeliveryEventType
from paysim.store import Outbox, UnitOfWork, create_engine_for, create_schema, sqlite_url
from paysim.store.database import reading
from paysim.store.outbox_signal import outbox_signal
from paysim.store.schema import outbox, processed_events
from tests.builders import order_confirmed, payment_completed

POSTGRES_URL = os.environ.get("PAYSIM_TEST_POSTGRES_URL")

service_metadata = MetaData()
orders = Table(
    "contract_orders",
    service_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("status", String(32), nullable=False),
)


def delivery_assigned(order_id: int = 42) -> DeliveryEvent:
    return DeliveryEvent(
        event_type=DeliveryEventType.DELIVERY_ASSIGNED, order_id=order_id, delivery_id=9
    )


class FixedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def outbox_rows(engine: Engine) -> list[tuple[str, str, str, datetime | None]]:
    with engine.connect() as connection:
        query = select(outbox.c.event_id, outbox.c.topic, outbox.c.key, outbox.c.sent_at)
        return [tuple(row) for row in connection.execute(query.order_by(outbox.c.id))]


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


class StoreContract:
    """What every database behind paysim.store must do the same way."""

    @pytest.fixture
    def url(self) -> str:
        raise NotImplementedError("each backend supplies its database")

    @pytest.fixture
    def own_tables(self) -> MetaData:
        return service_metadata

    def test_create_schema_is_repeatable(self, engine: Engine) -> None:
        create_schema(engine, service_metadata)
        assert count(engine, outbox) == 0
        assert count(engine, orders) == 0

    @pytest.mark.parametrize(
        ("event", "topics"),
        [
            (payment_completed(), ["payment-completed", "payment-events"]),
            (order_confirmed(), ["order-confirmed", "order-events"]),
            (delivery_assigned(), ["delivery-assigned", "delivery-events"]),
        ],
    )
    def test_add_writes_one_row_per_destination(
        self, engine: Engine, event: AnyEvent, topics: list[str]
    ) -> None:
        with UnitOfWork(engine) as uow:
            uow.outbox.add(event)
        with engine.begin() as connection:
            records = Outbox(connection).pending(limit=10)
        assert [r.topic for r in records] == topics
        for record in records:
            assert record.key == str(event.order_id) == "42"
            assert record.event_id == str(event.event_id)
            assert record.event_type == event.event_type.value
            assert decode_event(record.payload) == event
            assert record.headers["eventType"] == event.event_type.value
            assert record.headers["eventId"] == str(event.event_id)
            assert record.headers["schemaVersion"] == "1"
            assert record.created_at.tzinfo is not None
            assert record.attempts == 0

    def test_pending_is_in_commit_order_across_transactions(self, engine: Engine) -> None:
        events = [payment_completed(order_id=n % 3 + 1) for n in range(7)]
        for event in events:
            with UnitOfWork(engine) as uow:
                uow.outbox.add(event)
        with engine.begin() as connection:
            records = Outbox(connection).pending(limit=100)
        assert [r.event_id for r in records] == [str(e.event_id) for e in events for _ in "ab"]
        assert [r.id for r in records] == sorted(r.id for r in records)
        with engine.begin() as connection:
            first_five = Outbox(connection).pending(limit=5)
        assert first_five == records[:5]

    def test_mark_sent_and_mark_failed(self, engine: Engine) -> None:
        with UnitOfWork(engine) as uow:
            uow.outbox.add(payment_completed())
            uow.outbox.add(order_confirmed())
        with engine.begin() as connection:
            box = Outbox(connection)
            ids = [r.id for r in box.pending(limit=10)]
            assert box.mark_sent(ids[:1]) == 1
            assert box.mark_failed(ids[1:2], "broker down") == 1
            assert box.mark_sent(ids[:1]) == 0  # already sent: first sent_at stays
        with engine.begin() as connection:
            box = Outbox(connection)
            pending = box.pending(limit=10)
            assert [r.id for r in pending] == ids[1:]
            assert [r.attempts for r in pending] == [1, 0, 0]
            assert box.backlog() == 3
            last_error = connection.execute(
                select(outbox.c.last_error).where(outbox.c.id == ids[1])
            ).scalar_one()
        assert last_error == "broker down"
        sent_at = outbox_rows(engine)[0][3]
        assert sent_at is not None

    def test_backlog_and_oldest_pending_age(self, engine: Engine) -> None:
        clock = FixedClock(datetime(2025, 1, 1, 12, 0, tzinfo=UTC))
        with engine.begin() as connection:
            box = Outbox(connection, clock=clock)
            assert box.backlog() == 0
            assert box.oldest_pending_age_s() is None
            box.add(payment_completed())
            clock.now += timedelta(seconds=5)
            box.add(order_confirmed())
            clock.now += timedelta(seconds=2.5)
            assert box.backlog() == 4
            assert box.oldest_pending_age_s() == pytest.approx(7.5)
            box.mark_sent([r.id for r in box.pending(limit=2)])
            assert box.backlog() == 2
            assert box.oldest_pending_age_s() == pytest.approx(2.5)

    def test_park_list_count_and_retry(self, engine: Engine) -> None:
        clock = FixedClock(datetime(2025, 1, 1, 12, 0, tzinfo=UTC))
        with engine.begin() as connection:
            box = Outbox(connection, clock=clock)
            box.add(payment_completed())
            box.add(order_confirmed())
            sizes = {r.id: len(r.payload) for r in box.pending(limit=10)}
            first, second, third, _ = sizes
            clock.now += timedelta(seconds=3)
            assert box.park(second, "RecordRefusedError: " + "x" * 5_000)
            assert not box.park(second, "again")  # only a pending row can be parked
            assert box.mark_sent([first]) == 1
            assert not box.park(first, "sent already")
            assert box.park(third, "too large")
            assert (box.parked_count(), box.backlog()) == (2, 1)
            assert [r.id for r in box.pending(limit=10)] == [third + 1]

            rows = box.parked()
            assert [r.id for r in rows] == [second, third]
            row = rows[0]
            assert (row.topic, row.key, row.event_type) == (
                "payment-events",
                "42",
                "PAYMENT_COMPLETED",
            )
            assert row.attempts == 1
            assert row.reason.startswith("RecordRefusedError: xxx")
            assert len(row.reason) == 2_000  # bounded
            assert row.parked_at == clock.now
            assert row.payload_bytes == sizes[second]

            assert box.retry_parked([third]) == [third]
            assert box.retry_parked() == [second]
            assert (box.parked_count(), box.backlog()) == (0, 3)
            assert [(r.id, r.attempts) for r in box.pending(limit=10)] == [
                (second, 0),
                (third, 0),
                (third + 1, 0),
            ]

    def test_prune_sent_deletes_old_sent_rows_only_oldest_first(self, engine: Engine) -> None:
        clock = FixedClock(datetime(2025, 1, 1, 12, 0, tzinfo=UTC))
        with engine.begin() as connection:
            box = Outbox(connection, clock=clock)
            for order_id in range(1, 5):
                box.add(payment_completed(order_id=order_id))
            ids = [r.id for r in box.pending(limit=10)]
            box.mark_sent(ids[:2])  # sent at 12:00
            clock.now += timedelta(hours=1)
            box.mark_sent(ids[2:4])  # sent at 13:00
            box.park(ids[4], "too large")
            clock.now += timedelta(hours=1)
            # An hour old or more: the first two only, and one at a time when asked.
            horizon = clock.now - timedelta(hours=1)
            assert box.prune_sent(horizon, limit=1) == 1
            assert box.prune_sent(horizon) == 1
            assert box.prune_sent(horizon) == 0
            assert box.prune_sent(clock.now + timedelta(days=365)) == 2
            # Pending and parked rows stay, however old.
            assert (box.backlog(), box.parked_count()) == (3, 1)
            left = connection.execute(select(outbox.c.id).order_by(outbox.c.id)).scalars()
            assert list(left) == ids[4:]

    def test_adding_the_same_event_twice_fails(self, engine: Engine) -> None:
        event = payment_completed()

        def add_twice() -> None:
            with UnitOfWork(engine) as uow:
                uow.outbox.add(event)
                uow.outbox.add(event)

        with pytest.raises(IntegrityError):
            add_twice()
        assert count(engine, outbox) == 0

    def test_unit_of_work_commits_state_events_and_tracking_together(self, engine: Engine) -> None:
        consumed = payment_completed()
        with UnitOfWork(engine) as uow:
            assert uow.processed.record("order-service", consumed.event_id)
            uow.connection.execute(orders.insert().values(id=42, status="CONFIRMED"))
            uow.outbox.add(order_confirmed())
        assert count(engine, orders) == 1
        assert count(engine, outbox) == 2
        with UnitOfWork(engine) as uow:
            assert uow.processed.seen("order-service", consumed.event_id)

    def test_unit_of_work_rolls_back_everything_on_exception(self, engine: Engine) -> None:
        consumed = payment_completed()

        def failing_handler() -> None:
            with UnitOfWork(engine) as uow:
                uow.processed.record("order-service", consumed.event_id)
                uow.connection.execute(orders.insert().values(id=42, status="CONFIRMED"))
                uow.outbox.add(order_confirmed())
                raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError, match="handler failed"):
            failing_handler()
        assert count(engine, orders) == 0
        assert count(engine, outbox) == 0
        assert count(engine, processed_events) == 0
        # The redelivered event is then handled as if for the first time.
        with UnitOfWork(engine) as uow:
            assert uow.processed.record("order-service", consumed.event_id)

    def test_unit_of_work_is_reusable_but_not_nested_nor_usable_outside(
        self, engine: Engine
    ) -> None:
        uow = UnitOfWork(engine)
        with pytest.raises(RuntimeError, match="outside"):
            _ = uow.outbox
        for order_id in (1, 2):
            with uow:
                uow.connection.execute(orders.insert().values(id=order_id, status="PENDING"))
        assert count(engine, orders) == 2
        with uow, pytest.raises(RuntimeError, match="does not nest"), uow:
            pass
        with pytest.raises(RuntimeError, match="outside"):
            _ = uow.connection

    def test_a_second_unit_of_work_inside_one_is_refused_not_left_to_wait(
        self, engine: Engine
    ) -> None:
        # On SQLite the inner BEGIN IMMEDIATE would wait busy_timeout on its own thread's
        # lock; anywhere it would not be atomic with the outer one.
        with UnitOfWork(engine) as outer:
            outer.connection.execute(orders.insert().values(id=1, status="PENDING"))
            with pytest.raises(RuntimeError, match="pass it down"), UnitOfWork(engine):
                pass
        assert count(engine, orders) == 1
        with UnitOfWork(engine):  # the outer one closed: the engine is free again
            pass
        seen: list[BaseException | None] = []

        def other_thread() -> None:
            try:
                with UnitOfWork(engine):
                    seen.append(None)
            except BaseException as exc:  # reported to the test below
                seen.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()  # another thread's unit of work is no nesting: it waits its turn
        thread.join(timeout=30)
        assert seen == [None]

    def test_processed_events_per_consumer_group(self, engine: Engine) -> None:
        event = payment_completed()
        with UnitOfWork(engine) as uow:
            assert not uow.processed.seen("order-service", event.event_id)
            assert uow.processed.record("order-service", event.event_id)
            assert not uow.processed.record("order-service", event.event_id)
            assert not uow.processed.record("order-service", str(event.event_id))
            assert uow.processed.record("notification-service", event.event_id)
            assert uow.processed.seen("order-service", event.event_id)
        assert count(engine, processed_events) == 2

    def test_duplicate_does_not_spoil_the_transaction(self, engine: Engine) -> None:
        event = payment_completed()
        with UnitOfWork(engine) as uow:
            uow.processed.record("order-service", event.event_id)
        with UnitOfWork(engine) as uow:
            assert not uow.processed.record("order-service", event.event_id)
            # PostgreSQL would refuse every further statement here without the savepoint.
            uow.connection.execute(orders.insert().values(id=42, status="CONFIRMED"))
            uow.outbox.add(order_confirmed())
        assert count(engine, orders) == 1
        assert count(engine, outbox) == 2

    def test_reading_sees_what_was_committed(self, engine: Engine) -> None:
        with UnitOfWork(engine) as uow:
            uow.outbox.add(order_confirmed(7))
        with reading(engine) as connection:
            assert Outbox(connection).backlog() == 2

    def test_only_a_commit_that_owes_events_sets_the_relays_signal(self, engine: Engine) -> None:
        signal, stop = outbox_signal(engine), threading.Event()
        signal.clear()
        with UnitOfWork(engine) as uow:
            uow.connection.execute(orders.insert().values(id=1, status="new"))
        assert not signal.wait(0, stop)  # nothing owed

        def owe_then_fail() -> None:
            with UnitOfWork(engine) as uow:
                uow.outbox.add(order_confirmed(1))
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError, match="rolled back"):
            owe_then_fail()
        assert not signal.wait(0, stop)  # owed, but rolled back
        with UnitOfWork(engine) as uow:
            uow.outbox.add(order_confirmed(1))
        assert signal.wait(0, stop)
        # Set only once the commit is over: a reader woken by it finds the rows.
        with reading(engine) as connection:
            assert Outbox(connection).backlog() == 2

    def test_concurrent_writers_serialize(self, engine: Engine) -> None:
        """Read-then-write transactions from many threads all commit, none is lost."""
        with engine.begin() as connection:
            connection.execute(orders.insert().values(id=1, status="0"))
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def bump() -> None:
            try:
                barrier.wait()
                for _ in range(5):
                    with UnitOfWork(engine) as uow:
                        query = select(orders.c.status).where(orders.c.id == 1)
                        current = int(uow.connection.execute(query).scalar_one())
                        time.sleep(0.001)
                        if engine.dialect.name == "postgresql":
                            # PostgreSQL serializes through the row lock instead.
                            uow.connection.execute(
                                text("SELECT 1 FROM contract_orders WHERE id = 1 FOR UPDATE")
                            )
                            current = int(uow.connection.execute(query).scalar_one())
                        uow.connection.execute(
                            orders.update().where(orders.c.id == 1).values(status=str(current + 1))
                        )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=bump) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with engine.connect() as connection:
            final = connection.execute(select(orders.c.status)).scalar_one()
        assert final == "30"


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return sqlite_url(tmp_path / "store.db")

    def test_sqlite_file_is_set_up_for_concurrent_processes(self, engine: Engine) -> None:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL

    def test_reading_begins_deferred_and_writing_immediate(self, engine: Engine) -> None:
        begun: list[str] = []

        @sa_event.listens_for(engine, "before_cursor_execute")
        def _seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if statement.startswith("BEGIN"):
                begun.append(statement)

        with reading(engine) as connection:
            connection.execute(select(func.count()).select_from(outbox))
        with UnitOfWork(engine) as uow:
            uow.outbox.add(order_confirmed(3))
        with engine.connect() as connection:  # a plain connection writes by default
            connection.execute(select(func.count()).select_from(outbox))
        assert begun == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]

    def test_a_read_goes_on_while_another_process_holds_the_write_lock(
        self, url: str, engine: Engine
    ) -> None:
        with UnitOfWork(engine) as uow:
            uow.outbox.add(order_confirmed(5))
        impatient = create_engine_for(url, busy_timeout_ms=0)  # a lock wait fails at once
        try:
            with engine.begin() as writer:
                writer.execute(orders.insert().values(id=5, status="held"))
                with reading(impatient) as connection:
                    assert Outbox(connection).backlog() == 2  # the last committed state
                with pytest.raises(OperationalError, match="locked"), UnitOfWork(impatient):
                    pass  # a writer has to wait for the lock: it is held
        finally:
            impatient.dispose()

    def test_sqlite_url_is_absolute(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        assert sqlite_url("run/order.db") == f"sqlite:///{tmp_path.resolve()}/run/order.db"

    def test_creating_an_engine_connects_to_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "lazy.db"
        engine = create_engine_for(sqlite_url(path))
        assert not path.exists()
        engine.dispose()


if POSTGRES_URL:

    class TestPostgreSQLStore(StoreContract):
        @pytest.fixture
        def url(self) -> str:
            assert POSTGRES_URL is not None
            return POSTGRES_URL
