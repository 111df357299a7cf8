"""Courier scheduling: seeded agents and timings, and the delivery service driven by a
fake clock on a SQLite file (no broker: the events it owes are read from its outbox)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paysim.domain.delivery_schedule import AGENT_POOL, CourierSimulation, next_step
from paysim.domain.events import DeliveryEvent, OrderEvent, OrderEventType
from paysim.domain.status import DeliveryStatus
from paysim.services.delivery.service import DeliveryService
from paysim.services.delivery.tables import metadata
from paysim.store import create_engine_for, create_schema, sqlite_url

START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
STEP_S = 10.0
WHOLE_RUN = [
    DeliveryStatus.ASSIGNED,
    DeliveryStatus.PICKED_UP,
    DeliveryStatus.IN_TRANSIT,
    DeliveryStatus.DELIVERED,
]


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# --- the pure schedule -------------------------------------------------------------------


def test_the_same_seed_gives_the_same_agents_and_timings() -> None:
    first, second = CourierSimulation(7, STEP_S), CourierSimulation(7, STEP_S)
    for order_id in range(1, 50):
        assert first.agent_for(order_id) == second.agent_for(order_id)
        assert first.run_plan(order_id, START) == second.run_plan(order_id, START)


def test_another_seed_gives_other_agents_and_timings() -> None:
    one, other = CourierSimulation(7, STEP_S), CourierSimulation(8, STEP_S)
    orders = range(1, 50)
    assert [one.agent_for(o) for o in orders] != [other.agent_for(o) for o in orders]
    assert [one.run_plan(o, START) for o in orders] != [other.run_plan(o, START) for o in orders]


def test_choices_do_not_depend_on_what_was_drawn_before() -> None:
    simulation = CourierSimulation(42, STEP_S)
    before = simulation.agent_for(1001)
    for order_id in range(1, 200):  # draws for other orders in between
        simulation.agent_for(order_id)
        simulation.delay_s(order_id, DeliveryStatus.PICKED_UP)
    assert simulation.agent_for(1001) == before
    # Stable across interpreters too (a string seed is hashed with SHA-512, not hash()).
    assert before == CourierSimulation(42, STEP_S).agent_for(1001)


def test_agents_come_from_the_pool_and_vary_between_orders() -> None:
    simulation = CourierSimulation(42, STEP_S)
    agents = {simulation.agent_for(o) for o in range(1, 100)}
    assert len(agents) > 30
    for agent in agents:
        assert agent.startswith("agent-")
        assert 1 <= int(agent.removeprefix("agent-")) <= AGENT_POOL


def test_a_run_is_pickup_transit_delivery_one_jittered_step_apart() -> None:
    simulation = CourierSimulation(42, STEP_S, jitter=0.25)
    plan = simulation.run_plan(99, START)
    assert [t.next_status for t in plan] == [
        DeliveryStatus.PICKED_UP,
        DeliveryStatus.IN_TRANSIT,
        DeliveryStatus.DELIVERED,
    ]
    moments = [START, *(t.due_at for t in plan)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    assert all(0.75 * STEP_S <= gap <= 1.25 * STEP_S for gap in gaps), gaps
    assert len(set(gaps)) > 1, "jitter should make the steps differ"


def test_the_run_ends_at_delivery_or_cancellation() -> None:
    assert next_step(DeliveryStatus.ASSIGNED) is DeliveryStatus.PICKED_UP
    assert next_step(DeliveryStatus.DELIVERED) is None
    assert next_step(DeliveryStatus.CANCELLED) is None
    assert CourierSimulation(1, STEP_S).timer_after(5, DeliveryStatus.DELIVERED, START) is None


def test_zero_step_time_means_no_waiting_and_bad_settings_are_refused() -> None:
    assert CourierSimulation(1, 0.0).delay_s(5, DeliveryStatus.PICKED_UP) == 0.0
    with pytest.raises(ValueError, match="step_s"):
        CourierSimulation(1, -1.0)
    with pytest.raises(ValueError, match="jitter"):
        CourierSimulation(1, 1.0, jitter=1.0)


# --- the service, with a fake clock ------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _service(tmp_path: Path, name: str, clock: FakeClock, seed: int = 42) -> DeliveryService:
    engine = create_engine_for(sqlite_url(tmp_path / f"{name}.db"))
    create_schema(engine, metadata)
    return DeliveryService(engine, CourierSimulation(seed, STEP_S), clock=clock)


@pytest.fixture
def service(tmp_path: Path, clock: FakeClock) -> DeliveryService:
    return _service(tmp_path, "delivery", clock)


def _order(event_type: OrderEventType, order_id: int = 501, **extra: object) -> OrderEvent:
    return OrderEvent.model_validate({"event_type": event_type, "order_id": order_id, **extra})


def _published(service: DeliveryService) -> list[DeliveryEvent]:
    """Events owed on their own topics (the catch-all copies left out), in outbox order."""
    with service.uow() as uow:
        rows = [r for r in uow.outbox.pending(1000) if r.topic != "delivery-events"]
    return [DeliveryEvent.model_validate_json(r.payload) for r in rows]


def _drive(service: DeliveryService, clock: FakeClock, seconds: float) -> None:
    """Let ``seconds`` pass in small ticks, the timer worker running at each."""
    for _ in range(int(seconds * 10)):
        clock.advance(0.1)
        service.advance_due()


def test_a_courier_is_assigned_waits_for_the_food_then_delivers_step_by_step(
    service: DeliveryService, clock: FakeClock
) -> None:
    service.assign_courier(_order(OrderEventType.ORDER_CREATED))
    _drive(service, clock, 5 * STEP_S)  # no food ready: the courier waits
    assert [e.status for e in _published(service)] == [DeliveryStatus.ASSIGNED]

    service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))
    plan = CourierSimulation(42, STEP_S).run_plan(501, clock.now)
    details = service.details(501)
    assert details.next_step == plan[0]

    clock.now = plan[0].due_at - timedelta(milliseconds=1)
    assert service.advance_due() == 0
    for timer in plan:
        clock.now = timer.due_at
        assert service.advance_due() == 1
        assert service.details(501).delivery.status is timer.next_status

    events = _published(service)
    assert [e.status for e in events] == WHOLE_RUN
    assert [e.previous_status for e in events] == [
        None,
        DeliveryStatus.ASSIGNED,
        DeliveryStatus.PICKED_UP,
        DeliveryStatus.IN_TRANSIT,
    ]
    assert {e.agent_id for e in events} == {CourierSimulation(42, STEP_S).agent_for(501)}
    assert {e.delivery_id for e in events} == {details.delivery.id}
    assert [e.timestamp for e in events[1:]] == [t.due_at for t in plan]
    assert service.details(501).next_step is None


def test_two_runs_with_the_same_seed_repeat_exactly(tmp_path: Path) -> None:
    timelines = []
    for name in ("first", "second"):
        clock = FakeClock()
        service = _service(tmp_path, name, clock)
        for order_id in (11, 12, 13):
            service.assign_courier(_order(OrderEventType.ORDER_CREATED, order_id))
            service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP, order_id))
        _drive(service, clock, 4 * STEP_S)
        timelines.append([(e.order_id, e.status, e.agent_id) for e in _published(service)])
    assert timelines[0] == timelines[1]
    assert len(timelines[0]) == 12


def test_a_cancel_mid_run_stops_the_courier_and_its_timers(
    service: DeliveryService, clock: FakeClock
) -> None:
    service.assign_courier(_order(OrderEventType.ORDER_CREATED))
    service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))
    _drive(service, clock, 1.3 * STEP_S)
    assert service.details(501).delivery.status is DeliveryStatus.PICKED_UP

    service.cancel(_order(OrderEventType.ORDER_CANCELLED, reason="customer changed their mind"))
    _drive(service, clock, 5 * STEP_S)
    details = service.details(501)
    assert details.delivery.status is DeliveryStatus.CANCELLED
    assert details.next_step is None
    events = _published(service)
    assert [e.status for e in events] == [
        DeliveryStatus.ASSIGNED,
        DeliveryStatus.PICKED_UP,
        DeliveryStatus.CANCELLED,
    ]
    assert events[-1].reason == "customer changed their mind"


def test_duplicated_order_created_makes_one_delivery_and_records_the_second(
    service: DeliveryService,
) -> None:
    created = _order(OrderEventType.ORDER_CREATED)
    service.assign_courier(created)
    service.assign_courier(created)  # redelivered: same eventId, skipped by its tracking row
    service.assign_courier(_order(OrderEventType.ORDER_CREATED))  # republished, new eventId
    assert [e.status for e in _published(service)] == [DeliveryStatus.ASSIGNED]
    history = service.details(501).history
    assert [(h.to_status, h.applied) for h in history] == [("ASSIGNED", True), ("ASSIGNED", False)]


def test_ready_for_pickup_before_order_created_assigns_then_and_there(
    service: DeliveryService, clock: FakeClock
) -> None:
    service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))
    service.assign_courier(_order(OrderEventType.ORDER_CREATED))  # the late one
    _drive(service, clock, 4 * STEP_S)
    statuses = [e.status for e in _published(service)]
    assert statuses == WHOLE_RUN


def test_cancel_before_order_created_sends_no_courier_and_no_event(
    service: DeliveryService, clock: FakeClock
) -> None:
    service.cancel(_order(OrderEventType.ORDER_CANCELLED))
    service.assign_courier(_order(OrderEventType.ORDER_CREATED))
    service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))
    _drive(service, clock, 4 * STEP_S)
    assert _published(service) == []
    details = service.details(501)
    assert (details.delivery.status, details.delivery.agent_id) == (DeliveryStatus.CANCELLED, None)


def test_a_late_cancel_never_moves_a_delivered_order_back(
    service: DeliveryService, clock: FakeClock
) -> None:
    service.assign_courier(_order(OrderEventType.ORDER_CREATED))
    service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))
    service.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))  # a second one
    _drive(service, clock, 4 * STEP_S)
    service.cancel(_order(OrderEventType.ORDER_CANCELLED))
    details = service.details(501)
    assert details.delivery.status is DeliveryStatus.DELIVERED
    assert _published(service)[-1].status is DeliveryStatus.DELIVERED
    ignored = [(h.to_status, h.note) for h in details.history if not h.applied]
    assert ignored[0] == ("PICKED_UP", "pickup already requested")
    assert ignored[1][0] == "CANCELLED"
    assert "conflict" in (ignored[1][1] or "")


def test_timers_survive_a_restart_on_the_same_database(tmp_path: Path, clock: FakeClock) -> None:
    first = _service(tmp_path, "delivery", clock)
    first.assign_courier(_order(OrderEventType.ORDER_CREATED))
    first.request_pickup(_order(OrderEventType.ORDER_READY_FOR_PICKUP))
    _drive(first, clock, 1.3 * STEP_S)
    restarted = _service(tmp_path, "delivery", clock)  # a new process, same file
    _drive(restarted, clock, 3 * STEP_S)
    statuses = [e.status for e in _published(restarted)]
    assert statuses == WHOLE_RUN


def test_the_unit_of_work_keeps_the_tracking_row_with_the_state(
    service: DeliveryService,
) -> None:
    created = _order(OrderEventType.ORDER_CREATED)
    service.assign_courier(created)
    with service.uow() as uow:
        assert uow.processed.seen("delivery-service", created.event_id)
