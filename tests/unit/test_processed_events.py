"""Idempotent consumer tracking: duplicates answer False, races have one winner.

Runs on a SQLite temp file, and on PostgreSQL too when ``PAYSIM_TEST_POSTGRES_URL`` is
set (the backends are parametrized from what is configured, nothing is skipped).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import threading
import time
from uuid import UUID

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, select

from paysim.domain.events import PaymentEvent
from paysim.store import UnitOfWork, create_engine_for, tracked
from paysim.store.schema import outbox, processed_events
from tests.builders import order_confirmed, payment_completed

GROUP = "order-service"

service_metadata = MetaData()
handled = Table(
    "handled_payments",
    service_metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("handler", String(64), nullable=False),
)


@pytest.fixture
def own_tables() -> MetaData:
    return service_metadata


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def handle(engine: Engine, event: PaymentEvent, handler: str, hold_s: float = 0.0) -> bool:
    """A consumer's handler: tracking row, state change and owed event in one transaction."""
    with UnitOfWork(engine) as uow:
        if not uow.processed.record(GROUP, event.event_id):
            return False
        uow.connection.execute(
            handled.insert().values(event_id=str(event.event_id), handler=handler)
        )
        uow.outbox.add(order_confirmed(event.order_id))
        time.sleep(hold_s)  # widen the window in which a racing handler could slip in
        return True


def test_duplicate_returns_false_and_the_transaction_still_commits(engine: Engine) -> None:
    event = payment_completed()
    assert handle(engine, event, "first")
    with UnitOfWork(engine) as uow:
        assert uow.processed.record(GROUP, event.event_id) is False
        # Work done after the duplicate in the same transaction is kept: the duplicate
        # inserted nothing and failed nothing (no aborted transaction on PostgreSQL).
        uow.connection.execute(handled.insert().values(event_id="other", handler="after-dup"))
        assert uow.processed.record(GROUP, UUID(int=1)) is True
    with engine.connect() as connection:
        handlers = connection.execute(select(handled.c.handler).order_by(handled.c.id)).scalars()
        assert list(handlers) == ["first", "after-dup"]
    assert count(engine, processed_events) == 2


def test_redelivery_is_not_applied_twice(engine: Engine) -> None:
    event = payment_completed()
    assert [handle(engine, event, f"try-{n}") for n in range(3)] == [True, False, False]
    assert count(engine, handled) == 1
    assert count(engine, outbox) == 2  # one ORDER_CONFIRMED, on two topics


def test_tracking_row_is_rolled_back_with_a_failed_handler(engine: Engine) -> None:
    event = payment_completed()

    def failing_handler() -> None:
        with UnitOfWork(engine) as uow:
            assert uow.processed.record(GROUP, event.event_id)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_handler()
    with UnitOfWork(engine) as uow:
        assert not uow.processed.seen(GROUP, event.event_id)
    assert handle(engine, event, "retry")


def test_threads_racing_on_one_event_have_exactly_one_winner(engine: Engine) -> None:
    event = payment_completed()
    racers = 8
    barrier = threading.Barrier(racers)
    results: list[bool] = []
    errors: list[BaseException] = []

    def race(n: int) -> None:
        try:
            barrier.wait()
            results.append(handle(engine, event, f"thread-{n}", hold_s=0.02))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [False] * (racers - 1) + [True]
    assert count(engine, handled) == 1
    assert count(engine, outbox) == 2


def _race_in_process(
    url: str,
    event_json: str,
    name: str,
    barrier: multiprocessing.synchronize.Barrier,
    results: multiprocessing.Queue[tuple[str, bool | str]],
) -> None:
    engine = create_engine_for(url)
    try:
        event = PaymentEvent.model_validate_json(event_json)
        barrier.wait()
        results.put((name, handle(engine, event, name, hold_s=0.05)))
    except BaseException as exc:
        results.put((name, repr(exc)))
    finally:
        engine.dispose()


def test_processes_racing_on_one_event_have_exactly_one_winner(engine: Engine, url: str) -> None:
    event = payment_completed()
    # Children open their own connections; none of ours may cross the fork.
    engine.dispose()
    context = multiprocessing.get_context("fork")
    racers = 4
    barrier = context.Barrier(racers)
    results: multiprocessing.Queue[tuple[str, bool | str]] = context.Queue()
    processes = [
        context.Process(
            target=_race_in_process,
            args=(url, event.model_dump_json(), f"process-{n}", barrier, results),
        )
        for n in range(racers)
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert sorted(outcomes.values(), key=str) == [False] * (racers - 1) + [True], outcomes
    assert count(engine, handled) == 1
    with engine.connect() as connection:
        winner = connection.execute(select(handled.c.handler)).scalar_one()
    assert outcomes[winner] is True


def _mark_handled(uow: UnitOfWork, event: PaymentEvent) -> str:
    uow.connection.execute(handled.insert().values(event_id=str(event.event_id), handler="once"))
    uow.outbox.add(order_confirmed(event.order_id))
    return "handled"


def test_tracked_handler_runs_once_per_event_and_group(engine: Engine) -> None:
    event = payment_completed()
    once = tracked(lambda: UnitOfWork(engine), GROUP, _mark_handled)
    assert [once(event), once(event)] == ["handled", None]
    assert tracked(lambda: UnitOfWork(engine), "another-group", _mark_handled)(event) == "handled"
    assert count(engine, handled) == 2
    assert count(engine, processed_events) == 2


def test_tracked_handler_that_fails_leaves_no_tracking_row(engine: Engine) -> None:
    event = payment_completed()
    calls: list[str] = []

    def flaky(uow: UnitOfWork, event: PaymentEvent) -> str:
        calls.append("called")
        answer = _mark_handled(uow, event)
        if len(calls) == 1:
            raise ZeroDivisionError  # after the state change: all of it must roll back
        return answer

    once = tracked(lambda: UnitOfWork(engine), GROUP, flaky)
    with pytest.raises(ZeroDivisionError):
        once(event)
    assert count(engine, processed_events) == 0
    assert count(engine, handled) == 0
    assert once(event) == "handled"
    assert count(engine, handled) == 1
    assert count(engine, outbox) == 2
