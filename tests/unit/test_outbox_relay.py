"""The outbox relay against an in-memory publisher: order, confirmations, failures, crashes.

Runs on a SQLite temp file, and on PostgreSQL too when ``PAYSIM_TEST_POSTGRES_URL`` is
set (the backends are parametrized from what is configured, nothing is skipped).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from paysim.store import OutboxRelay, RelayHooks, UnitOfWork, create_engine_for
from paysim.store.outbox_relay import DeliveryNotConfirmedError
from paysim.store.ports import Publisher
from paysim.store.schema import outbox
from tests.fakes import Crash, FakePublisher
from tests.unit.outbox_rows import (
    commit_interleaved,
    expected_records,
    pending,
    relay_running,
    saga_events,
    seen,
    wait_until,
)


def _conforms(publisher: FakePublisher) -> Publisher:
    return publisher  # mypy checks that the fake honours the port


def test_publishes_everything_in_commit_order_with_keys_and_headers(engine: Engine) -> None:
    events = commit_interleaved(engine)
    publisher = FakePublisher()
    relay = OutboxRelay(engine, _conforms(publisher), batch_size=100)

    assert relay.run_once() == 18
    assert seen(publisher) == expected_records(events)
    for delivered in publisher.delivered:
        assert delivered.key == str(delivered.event.order_id)
        assert delivered.headers["eventType"] == delivered.event.event_type.value
        assert delivered.headers["schemaVersion"] == "1"
    # Per key, the saga's steps arrive in the order they were committed.
    for order_id in (1, 2, 3):
        own_topic = [
            d.event.event_type
            for d in publisher.delivered
            if d.key == str(order_id) and not d.topic.endswith("-events")
        ]
        assert own_topic == [e.event_type for e in saga_events(order_id)]
    assert pending(engine) == []
    assert relay.run_once() == 0
    assert len(publisher.delivered) == 18


def test_small_batches_keep_the_order(engine: Engine) -> None:
    events = commit_interleaved(engine)
    publisher = FakePublisher()
    relay = OutboxRelay(engine, publisher, batch_size=4)
    rounds = [relay.run_once() for _ in range(6)]
    assert rounds == [4, 4, 4, 4, 2, 0]
    assert seen(publisher) == expected_records(events)


def test_only_confirmed_rows_are_marked_sent(engine: Engine) -> None:
    events = commit_interleaved(engine)
    publisher = FakePublisher(lose={3})  # no delivery report for the 4th record
    relay = OutboxRelay(engine, publisher, batch_size=6, flush_timeout_s=0.01)

    assert relay.run_once() == 3
    left = pending(engine)
    assert [(r.topic, r.event_id) for r in left] == expected_records(events)[3:]
    # Only the unconfirmed record is charged an attempt (records behind it were confirmed:
    # the broker takes records, just not that one); those behind it wait to keep the order.
    assert [r.attempts for r in left[:4]] == [1, 0, 0, 0]
    with engine.connect() as connection:
        last_error = connection.execute(
            select(outbox.c.last_error).where(outbox.c.id == left[0].id)
        ).scalar_one()
    assert "DeliveryNotConfirmedError" in last_error


def test_a_failure_stops_the_batch_and_the_rest_is_retried_in_order(engine: Engine) -> None:
    events = commit_interleaved(engine)
    publisher = FakePublisher(refuse={2})
    relay = OutboxRelay(engine, publisher, batch_size=100)

    assert relay.run_once() == 2
    first_round = seen(publisher)
    # Records after the refused one were delivered too but are not marked: they go out
    # again behind it, so the consumer never misses the refused record's place.
    assert first_round == [r for i, r in enumerate(expected_records(events)) if i != 2]
    assert len(pending(engine)) == 16

    assert relay.run_once() == 16
    assert seen(publisher)[len(first_round) :] == expected_records(events)[2:]
    assert pending(engine) == []


def test_a_failure_reported_at_once_stops_handing_records_over(engine: Engine) -> None:
    events = commit_interleaved(engine)
    publisher = FakePublisher(refuse={1}, report_at_once=True)
    relay = OutboxRelay(engine, publisher, batch_size=100)

    assert relay.run_once() == 1
    assert publisher.calls == 2
    assert relay.run_once() == 17
    assert seen(publisher) == expected_records(events)


def test_publish_that_raises_counts_as_a_failed_delivery(engine: Engine) -> None:
    events = commit_interleaved(engine, orders=1)
    publisher = FakePublisher(raise_at={1})
    failures: list[tuple[str, Exception]] = []
    relay = OutboxRelay(
        engine,
        publisher,
        hooks=RelayHooks(on_failed=lambda record, error: failures.append((record.topic, error))),
    )
    assert relay.run_once() == 1
    assert [(topic, type(error)) for topic, error in failures] == [("payment-events", BufferError)]
    assert relay.run_once() == 5
    assert seen(publisher) == expected_records(events)


def test_crash_between_commit_and_publish_loses_nothing(url: str, engine: Engine) -> None:
    events = commit_interleaved(engine)
    dying = OutboxRelay(engine, FakePublisher(crash_on_publish=True))
    with pytest.raises(Crash):
        dying.run_once()
    engine.dispose()

    # A new relay process: its own engine on the same database.
    restarted_engine = create_engine_for(url)
    publisher = FakePublisher()
    try:
        assert OutboxRelay(restarted_engine, publisher).run_once() == 18
    finally:
        restarted_engine.dispose()
    assert seen(publisher) == expected_records(events)


def test_crash_between_publish_and_mark_sent_republishes_and_consumers_absorb_it(
    url: str, engine: Engine
) -> None:
    events = commit_interleaved(engine, orders=2)
    before_crash = FakePublisher(crash_after_flush=True)
    with pytest.raises(Crash):
        OutboxRelay(engine, before_crash).run_once()
    assert len(pending(engine)) == 12  # delivered, but never marked sent
    engine.dispose()

    restarted_engine = create_engine_for(url)
    after_restart = FakePublisher()
    try:
        assert OutboxRelay(restarted_engine, after_restart).run_once() == 12
        assert seen(after_restart) == seen(before_crash) == expected_records(events)
        # A consumer of the catch-all topics sees each event twice and applies it once.
        applied = []
        for delivered in before_crash.delivered + after_restart.delivered:
            if not delivered.topic.endswith("-events"):
                continue
            with UnitOfWork(restarted_engine) as uow:
                if uow.processed.record("analytics", delivered.headers["eventId"]):
                    applied.append(delivered.headers["eventId"])
        assert applied == [str(event.event_id) for event in events]
    finally:
        restarted_engine.dispose()


def test_hooks_report_latency_failures_and_backlog(engine: Engine) -> None:
    commit_interleaved(engine, orders=1)
    latencies: list[tuple[str, float]] = []
    failures: list[tuple[str, Exception]] = []
    backlog: list[tuple[int, float | None]] = []
    hooks = RelayHooks(
        on_published=lambda record, seconds: latencies.append((record.topic, seconds)),
        on_failed=lambda record, error: failures.append((record.topic, error)),
        on_backlog=lambda rows, oldest: backlog.append((rows, oldest)),
    )
    relay = OutboxRelay(engine, FakePublisher(lose={4}), hooks=hooks, flush_timeout_s=0.01)

    assert relay.run_once() == 4
    assert [topic for topic, _ in latencies] == [
        "payment-initiated",
        "payment-events",
        "payment-completed",
        "payment-events",
    ]
    assert all(0 <= seconds < 60 for _, seconds in latencies)
    assert [(topic, type(error)) for topic, error in failures] == [
        ("order-confirmed", DeliveryNotConfirmedError)
    ]
    rows, oldest = backlog[-1]
    assert rows == 2
    assert oldest is not None
    assert oldest >= 0


def test_run_relays_until_stopped_and_survives_a_failing_round(engine: Engine) -> None:
    publisher = FakePublisher(flush_raises=1)
    relay = OutboxRelay(engine, publisher, batch_size=5, poll_interval_s=0.01)
    with relay_running(relay):
        events = commit_interleaved(engine)
        wait_until(lambda: not pending(engine))
    assert pending(engine) == []
    # The failed round published without marking: its records went out again, in order.
    unique = list(dict.fromkeys(seen(publisher)))
    assert unique == expected_records(events)


def test_a_commit_wakes_the_waiting_relay_long_before_its_poll(engine: Engine) -> None:
    publisher = FakePublisher()
    relay = OutboxRelay(engine, publisher, poll_interval_s=30.0)
    with relay_running(relay):
        first = commit_interleaved(engine, orders=1)
        wait_until(lambda: not pending(engine), timeout_s=10)
        assert seen(publisher) == expected_records(first)
        # Caught up, the relay now waits up to 30 s: only the commit can wake it in time.
        with UnitOfWork(engine) as uow:
            later = saga_events(2)[:1]
            uow.outbox.add(later[0])
        wait_until(lambda: seen(publisher) == expected_records(first + later), timeout_s=10)
    assert seen(publisher) == expected_records(first) + expected_records(later)
