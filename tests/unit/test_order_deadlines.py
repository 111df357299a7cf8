"""The order service's deadline sweep on a real SQLite file: the restaurant's deadline,
and the CANCELLING one, which stops once Stripe has refused the refund for good."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from paysim.codec import decode_event
from paysim.domain.commands import compensation_request_id
from paysim.domain.events import AnyEvent, PaymentEvent, PaymentEventType
from paysim.domain.order_state import RestaurantMove
from paysim.domain.saga import Deadlines
from paysim.domain.status import OrderStatus
from paysim.services.faults import FaultPoints
from paysim.services.order import repository as repo
from paysim.services.order.event_reactions import order_handler
from paysim.services.order.service import OrderService
from paysim.services.order.tables import metadata
from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.store.schema import outbox

ORDER, PAYMENT, TOTAL = 101, 7, 2599
ACCEPT_WITHIN = timedelta(minutes=5)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class NoPayments:
    def cancel(self, payment_id: int, reason: str) -> bool:
        raise AssertionError(f"payment {payment_id} cancelled ({reason}): it must be refunded")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tmp_path: Path, clock: Clock) -> Iterator[OrderService]:
    engine = create_engine_for(sqlite_url(tmp_path / "order.db"))
    create_schema(engine, metadata)
    yield OrderService(
        engine,
        NoPayments(),  # type: ignore[arg-type]
        FaultPoints(),
        deadlines=Deadlines(restaurant_accept=ACCEPT_WITHIN),
        clock=clock,
    )
    engine.dispose()


def _paid_order(service: OrderService) -> None:
    handle = order_handler(service)
    for kind in (PaymentEventType.PAYMENT_INITIATED, PaymentEventType.PAYMENT_COMPLETED):
        event = PaymentEvent(
            event_type=kind,
            order_id=ORDER,
            payment_id=PAYMENT,
            user_id=31,
            amount_minor=TOTAL,
            currency="usd",
            attempt=1 if kind is PaymentEventType.PAYMENT_COMPLETED else None,
        )
        handle(event, None)  # type: ignore[arg-type]  # the record is not read


def _owed(service: OrderService) -> list[AnyEvent]:
    with service.uow() as uow:
        payloads = uow.connection.execute(
            select(outbox.c.payload).where(outbox.c.topic.like("%-events")).order_by(outbox.c.id)
        ).scalars()
        return [decode_event(bytes(p)) for p in payloads]


def test_within_the_deadline_the_order_waits_for_the_restaurant(
    service: OrderService, clock: Clock
) -> None:
    _paid_order(service)
    clock.now += ACCEPT_WITHIN
    assert service.sweep_deadlines() == 0
    assert service.get(ORDER).status is OrderStatus.PENDING


def test_past_the_deadline_the_order_is_rejected_and_refunded(
    service: OrderService, clock: Clock
) -> None:
    _paid_order(service)
    clock.now += ACCEPT_WITHIN + timedelta(seconds=1)

    assert service.sweep_deadlines() == 1

    order = service.get(ORDER)
    assert order.status is OrderStatus.CANCELLING
    assert order.reason == "the restaurant did not accept the order within 300 s"
    types = [e.event_type.value for e in _owed(service)]
    assert types[-2:] == ["ORDER_CANCELLED", "PAYMENT_REFUND_INITIATED"]
    request = _owed(service)[-1]
    assert isinstance(request, PaymentEvent)
    assert (request.refund_amount_minor, request.refund_reason) == (TOTAL, "restaurant_deadline")
    assert request.refund_request_id == compensation_request_id(ORDER, PAYMENT)
    with service.uow() as uow:
        [compensation] = repo.compensation_list(uow.connection)
    assert (compensation["kind"], compensation["reason"]) == ("REFUND", "restaurant_deadline")
    # Asked once: the next sweep waits for the refund (the CANCELLING deadline retries).
    assert service.sweep_deadlines() == 0


def test_an_order_the_restaurant_accepted_is_left_alone(
    service: OrderService, clock: Clock
) -> None:
    _paid_order(service)
    clock.now += ACCEPT_WITHIN / 2
    service.restaurant(ORDER, RestaurantMove.ACCEPT, None)
    clock.now += ACCEPT_WITHIN * 10
    assert service.sweep_deadlines() == 0
    assert service.get(ORDER).status is OrderStatus.CONFIRMED


def _refund_asked(service: OrderService) -> int:
    kinds = [e.event_type for e in _owed(service)]
    return kinds.count(PaymentEventType.PAYMENT_REFUND_INITIATED)


@pytest.mark.parametrize("refused", [False, True])
def test_a_refund_refused_for_good_is_not_asked_again(
    service: OrderService, clock: Clock, refused: bool
) -> None:
    _paid_order(service)
    service.cancel(ORDER, "changed my mind")
    assert _refund_asked(service) == 1
    if refused:
        failed = PaymentEvent(
            event_type=PaymentEventType.PAYMENT_REFUND_FAILED,
            order_id=ORDER,
            payment_id=PAYMENT,
            amount_minor=TOTAL,
            currency="usd",
            refund_amount_minor=TOTAL,
            refund_request_id=compensation_request_id(ORDER, PAYMENT),
            failure_reason="charge already refunded",
            error_code="charge_already_refunded",
        )
        order_handler(service)(failed, None)  # type: ignore[arg-type]

    for _ in range(3):
        clock.now += timedelta(hours=1)
        service.sweep_deadlines()

    # Without the failure the deadline asks again each time; with it, never.
    assert _refund_asked(service) == (1 if refused else 4)
    expected = OrderStatus.REFUND_FAILED if refused else OrderStatus.CANCELLING
    assert service.get(ORDER).status is expected
