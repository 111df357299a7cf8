"""No row blocks the outbox: rows that cannot be published are parked, the rest flows.

The relay against an in-memory publisher that refuses chosen records: at once for what
they are (a ``PermanentError``), or again and again while the records behind them get
through; a broker outage, which parks nothing; retry; the gauges; retention.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from paysim.domain.events import AnyEvent
from paysim.errors import PermanentError, TransientError
from paysim.store import OutboxRelay, RelayHooks, UnitOfWork
from paysim.store.outbox import Outbox, ParkedRow
from paysim.store.schema import outbox
from tests.fakes import BrokerError, Delivered, FakePublisher
from tests.unit.outbox_rows import (
    commit_interleaved,
    expected_records,
    pending,
    relay_running,
    saga_events,
    seen,
    wait_until,
)


class TooLargeError(PermanentError):
    """What a broker's size limit looks like to the relay."""


class BrokerDownError(TransientError):
    """What an unreachable broker looks like to the relay."""


def refusing(event: AnyEvent, topic: str, error: Exception) -> FakePublisher:
    """A publisher that refuses one record (this event on this topic) every time."""

    def refuse(record: Delivered) -> Exception | None:
        ours = record.topic == topic and record.headers["eventId"] == str(event.event_id)
        return error if ours else None

    return FakePublisher(refuse_record=refuse)


def parked(engine: Engine) -> list[ParkedRow]:
    with engine.begin() as connection:
        return Outbox(connection).parked()


def first_seen(publisher: FakePublisher) -> list[tuple[str, str]]:
    """What the consumers end up with: each record once, where it first arrived."""
    return list(dict.fromkeys(seen(publisher)))


def own_topic_types(publisher: FakePublisher, order_id: int) -> list[str]:
    return [
        d.headers["eventType"]
        for d in publisher.delivered
        if d.key == str(order_id) and not d.topic.endswith("-events")
    ]


@pytest.mark.parametrize("at_once", [True, False], ids=["raised", "reported"])
def test_a_record_refused_for_what_it_is_is_parked_at_once_and_the_rest_flows(
    engine: Engine, at_once: bool
) -> None:
    events = commit_interleaved(engine)
    doomed = events[1]  # order 2's PAYMENT_INITIATED: rows 3 and 4 of 18
    publisher = refusing(doomed, "payment-initiated", TooLargeError("Message size too large"))
    publisher.refuse_record_at_once = at_once
    relay = OutboxRelay(engine, publisher, max_attempts=5)

    # One round: the refused row is parked, every row behind it is sent.
    assert relay.run_once() == 17
    assert pending(engine) == []
    everything_else = [
        r for r in expected_records(events) if r != ("payment-initiated", str(doomed.event_id))
    ]
    assert seen(publisher) == everything_else
    [row] = parked(engine)
    assert (row.topic, row.event_id, row.key) == ("payment-initiated", str(doomed.event_id), "2")
    assert row.attempts == 1
    assert row.reason == "TooLargeError: Message size too large"
    assert row.parked_at is not None
    assert row.payload_bytes > 0
    # Per key, the rest keeps its order; order 2 goes on without its parked record.
    for order_id in (1, 3):
        assert own_topic_types(publisher, order_id) == [
            e.event_type.value for e in saga_events(order_id)
        ]
    assert own_topic_types(publisher, 2) == ["PAYMENT_COMPLETED", "ORDER_CONFIRMED"]
    assert relay.run_once() == 0


def test_a_row_failing_while_others_get_through_is_parked_after_max_attempts(
    engine: Engine,
) -> None:
    events = commit_interleaved(engine)
    doomed = events[4]  # order 2's PAYMENT_COMPLETED: rows 8 and 9 of 18
    publisher = refusing(doomed, "payment-events", BrokerDownError("NOT_ENOUGH_REPLICAS"))
    relay = OutboxRelay(engine, publisher, max_attempts=3)

    # Each round the row fails while the rows behind it are confirmed: that is charged
    # to it. Behind it nothing is marked sent until it is out of the way.
    assert [relay.run_once() for _ in range(3)] == [9, 0, 8]
    [row] = parked(engine)
    assert (row.topic, row.event_id, row.attempts) == ("payment-events", str(doomed.event_id), 3)
    assert row.reason == "BrokerDownError: NOT_ENOUGH_REPLICAS"
    assert pending(engine) == []
    assert first_seen(publisher) == [
        r for r in expected_records(events) if r != ("payment-events", str(doomed.event_id))
    ]


def test_a_broker_outage_parks_nothing_and_everything_goes_out_in_order_after(
    engine: Engine,
) -> None:
    events = commit_interleaved(engine, orders=2)
    publisher = FakePublisher(refuse_record=lambda _record: BrokerDownError("all brokers down"))
    relay = OutboxRelay(engine, publisher, max_attempts=2)

    assert [relay.run_once() for _ in range(5)] == [0] * 5
    assert parked(engine) == []
    head, *rest = pending(engine)
    assert head.attempts == 0  # noted, not charged: the failure was not the row's own
    assert all(r.attempts == 0 for r in rest)
    with engine.connect() as connection:
        noted = connection.execute(
            select(outbox.c.last_error).where(outbox.c.id == head.id)
        ).scalar_one()
    assert noted == "BrokerDownError: all brokers down"

    publisher.refuse_record = None
    assert relay.run_once() == 12
    assert seen(publisher) == expected_records(events)


def test_a_failure_of_its_own_is_charged_even_with_nothing_behind_it(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.outbox.add(saga_events(1)[0])
    publisher = FakePublisher(refuse_record=lambda _record: BrokerError("bad record"))
    relay = OutboxRelay(engine, publisher, max_attempts=2)
    assert [relay.run_once() for _ in range(2)] == [0, 0]
    # The first row was parked in the second round; the second row then failed its first.
    assert [(r.topic, r.attempts) for r in parked(engine)] == [("payment-initiated", 2)]
    assert [r.attempts for r in pending(engine)] == [1]


def test_a_refused_row_behind_a_held_one_is_parked_in_the_same_round(engine: Engine) -> None:
    events = commit_interleaved(engine, orders=1)
    refused = ("payment-completed", str(events[1].event_id))

    def refuse(record: Delivered) -> Exception | None:
        if (record.topic, record.headers["eventId"]) == refused:
            return TooLargeError("too large")
        return None

    publisher = FakePublisher(lose={0}, refuse_record=refuse)
    relay = OutboxRelay(engine, publisher, flush_timeout_s=0.01)
    assert relay.run_once() == 0  # the first row is unconfirmed: it holds the rest
    assert [(r.topic, r.event_id) for r in parked(engine)] == [refused]
    assert relay.run_once() == 5
    # The second round starts again from the held row, and the refused one is gone.
    assert seen(publisher)[-5:] == [r for r in expected_records(events) if r != refused]


def test_retry_moves_parked_rows_back_and_the_relay_publishes_them_next(engine: Engine) -> None:
    events = commit_interleaved(engine, orders=2)
    doomed = events[0]
    publisher = refusing(doomed, "payment-initiated", TooLargeError("too large"))
    relay = OutboxRelay(engine, publisher)
    assert relay.run_once() == 11
    [row] = parked(engine)

    with engine.begin() as connection:
        box = Outbox(connection)
        assert box.retry_parked([row.id + 1000]) == []  # not parked: nothing moves
        assert box.retry_parked([row.id]) == [row.id]
        assert box.retry_parked() == []
    [again] = pending(engine)
    assert (again.id, again.attempts) == (row.id, 0)  # a fresh budget

    # Still refused: parked again at once.
    assert relay.run_once() == 0
    assert [r.id for r in parked(engine)] == [row.id]

    publisher.refuse_record = None
    with engine.begin() as connection:
        assert Outbox(connection).retry_parked() == [row.id]
    later = saga_events(3)[0]
    with UnitOfWork(engine) as uow:
        uow.outbox.add(later)  # committed after the parked row was
    assert relay.run_once() == 3
    # The retried row kept its id, so it goes out ahead of rows committed after it (and
    # after its own key's later records, which went on without it).
    assert seen(publisher)[11:] == [
        ("payment-initiated", str(doomed.event_id)),
        *expected_records([later]),
    ]
    assert parked(engine) == []
    assert pending(engine) == []


def test_hooks_count_parked_rows_and_report_the_gauge(engine: Engine) -> None:
    events = commit_interleaved(engine, orders=1)
    publisher = refusing(events[2], "order-confirmed", TooLargeError("too large"))
    parked_now: list[tuple[str, str]] = []
    gauge: list[int] = []
    failed: list[str] = []
    hooks = RelayHooks(
        on_parked=lambda record, error: parked_now.append((record.topic, type(error).__name__)),
        on_parked_rows=gauge.append,
        on_failed=lambda record, _error: failed.append(record.topic),
    )
    relay = OutboxRelay(engine, publisher, hooks=hooks)
    assert relay.run_once() == 5
    assert parked_now == [("order-confirmed", "TooLargeError")]
    assert failed == ["order-confirmed"]
    assert gauge == [1]
    assert relay.run_once() == 0  # idle: the gauge is not counted again
    assert gauge == [1]

    # A restarted relay reports the rows parked before it, on its first (idle) round.
    restarted_gauge: list[int] = []
    restarted = OutboxRelay(
        engine, FakePublisher(), hooks=RelayHooks(on_parked_rows=restarted_gauge.append)
    )
    assert restarted.run_once() == 0
    assert restarted.run_once() == 0
    assert restarted_gauge == [1]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def rows_by_state(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        query = select(outbox.c.state, func.count()).group_by(outbox.c.state)
        return {state: int(n) for state, n in connection.execute(query)}


def test_prune_deletes_sent_rows_past_the_horizon_only(engine: Engine) -> None:
    clock = Clock()
    events = commit_interleaved(engine, orders=1)
    publisher = refusing(events[0], "payment-initiated", TooLargeError("too large"))
    relay = OutboxRelay(engine, publisher, retention=timedelta(hours=24), clock=clock)
    assert relay.run_once() == 5  # sent at noon; one row parked
    clock.now += timedelta(hours=23)
    with UnitOfWork(engine, clock=clock) as uow:
        uow.outbox.add(saga_events(2)[0])
    assert relay.run_once() == 2  # sent at 11:00 the next day
    with UnitOfWork(engine, clock=clock) as uow:
        uow.outbox.add(saga_events(3)[0])  # still pending
    assert rows_by_state(engine) == {"sent": 7, "parked": 1, "pending": 2}

    assert relay.prune() == 0  # nothing is older than 24 h yet
    clock.now += timedelta(hours=2)
    assert relay.prune() == 5
    assert rows_by_state(engine) == {"sent": 2, "parked": 1, "pending": 2}
    assert OutboxRelay(engine, publisher, clock=clock).prune() == 0  # no retention: no-op


def test_run_prunes_while_it_relays(engine: Engine) -> None:
    relay = OutboxRelay(
        engine,
        FakePublisher(),
        poll_interval_s=0.01,
        retention=timedelta(0),
        prune_interval_s=0.01,
    )
    commit_interleaved(engine, orders=1)
    with relay_running(relay):
        wait_until(lambda: not rows_by_state(engine))
    assert rows_by_state(engine) == {}


def test_max_attempts_must_be_positive(engine: Engine) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        OutboxRelay(engine, FakePublisher(), max_attempts=0)
