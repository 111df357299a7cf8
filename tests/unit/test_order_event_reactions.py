"""How the order service reacts to payment and delivery events, on a real SQLite file.

The handler is the one the order process runs (``event_reactions.order_handler``), over
the real ``OrderService``, repository, unit of work and outbox, built as
``paysim.bootstrap.order`` builds them, without Kafka: each event is handed to the
handler as the consumer loop would hand it. What is checked is what ends up in the
database: the order, its audit trail, the events it owes (outbox rows), the
compensations asked for and the processed-event rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Engine, func, select

from paysim.bus.consumer import Handler
from paysim.bus.reader import Record
from paysim.codec import decode_event, encode_event
from paysim.domain.commands import compensation_request_id
from paysim.domain.events import (
    AnyEvent,
    DeliveryEvent,
    DeliveryEventType,
    OrderEvent,
    OrderEventType,
    PaymentEvent,
    PaymentEventType,
)
from paysim.domain.order_state import RestaurantMove
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.errors import PermanentError
from paysim.services.faults import FaultPoints, FaultSpec, InjectedTransientError
from paysim.services.order import event_reactions
from paysim.services.order import repository as repo
from paysim.services.order.repository import Order
from paysim.services.order.service import OrderService
from paysim.services.order.tables import metadata
from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.store.schema import outbox, processed_events

ORDER = 101
PAYMENT = 7
TOTAL = 2599


class NoPayments:
    """The payment client: an event reaction never calls it (refunds go by the outbox)."""

    def cancel(self, payment_id: int, reason: str) -> bool:
        raise AssertionError(f"unexpected cancel of payment {payment_id} ({reason})")


@dataclass
class Orders:
    """The order service on its own database, and ways to look into that database."""

    engine: Engine
    service: OrderService
    handle: Handler

    def deliver(self, event: AnyEvent) -> None:
        """Hand ``event`` to the handler, as the consumer loop does with a record."""
        topic = "delivery-events" if isinstance(event, DeliveryEvent) else "payment-events"
        record = Record(
            topic=topic,
            partition=0,
            offset=0,
            key=str(event.order_id),
            value=encode_event(event),
            headers={"eventType": event.event_type.value, "eventId": str(event.event_id)},
        )
        self.handle(event, record)

    def order(self, order_id: int = ORDER) -> Order:
        with self.service.uow() as uow:
            return repo.get(uow.connection, order_id)

    def exists(self, order_id: int = ORDER) -> bool:
        with self.service.uow() as uow:
            return repo.find(uow.connection, order_id) is not None

    def history(self, order_id: int = ORDER) -> list[dict[str, Any]]:
        with self.service.uow() as uow:
            return repo.history(uow.connection, order_id)

    def owed(self, order_id: int = ORDER) -> list[AnyEvent]:
        """The events the order owes, once each, in outbox order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.event_id, outbox.c.payload)
                .where(outbox.c.key == str(order_id))
                .order_by(outbox.c.id)
            ).all()
        seen: dict[str, AnyEvent] = {}
        for event_id, payload in rows:
            seen.setdefault(event_id, decode_event(bytes(payload)))
        return list(seen.values())

    def outbox_topics(self, order_id: int = ORDER) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(outbox.c.topic)
                    .where(outbox.c.key == str(order_id))
                    .order_by(outbox.c.id)
                ).scalars()
            )

    def compensations(self, order_id: int = ORDER) -> list[dict[str, Any]]:
        with self.service.uow() as uow:
            return [c for c in repo.compensation_list(uow.connection) if c["orderId"] == order_id]

    def processed(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(processed_events)).scalar_one()
            )


def _orders(tmp_path: Path, group: str = event_reactions.GROUP) -> Orders:
    engine = create_engine_for(sqlite_url(tmp_path / "order.db"))
    create_schema(engine, metadata)
    service = OrderService(engine, NoPayments(), FaultPoints())  # type: ignore[arg-type]
    return Orders(engine, service, event_reactions.order_handler(service, group))


@pytest.fixture
def orders(tmp_path: Path) -> Iterator[Orders]:
    made = _orders(tmp_path)
    yield made
    made.engine.dispose()


def payment(kind: PaymentEventType, order_id: int = ORDER, **fields: Any) -> PaymentEvent:
    values: dict[str, Any] = {
        "event_type": kind,
        "order_id": order_id,
        "payment_id": PAYMENT,
        "user_id": 31,
        "amount_minor": TOTAL,
        "currency": "usd",
        **fields,
    }
    return PaymentEvent.model_validate(values)


def refunded_in_full() -> PaymentEvent:
    """The payment service's news that the order's payment was refunded in full."""
    return payment(
        PaymentEventType.PAYMENT_REFUNDED, status=PaymentStatus.REFUNDED, refund_amount_minor=TOTAL
    )


def delivery(kind: DeliveryEventType, order_id: int = ORDER) -> DeliveryEvent:
    return DeliveryEvent(event_type=kind, order_id=order_id, delivery_id=5, agent_id="courier-1")


def _moves(history: list[dict[str, Any]]) -> list[tuple[str | None, str, bool]]:
    return [(h["from"], h["to"], h["applied"]) for h in history]


def _types(events: list[AnyEvent]) -> list[str]:
    return [e.event_type.value for e in events]


def _placed(orders: Orders, attempt: int = 1) -> None:
    """An order created by its payment and paid: PENDING."""
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, attempt=attempt))


# -- payment events ---------------------------------------------------------------------------


def test_payment_initiated_creates_the_order_awaiting_payment(orders: Orders) -> None:
    initiated = payment(PaymentEventType.PAYMENT_INITIATED)
    orders.deliver(initiated)

    order = orders.order()
    assert (order.status, order.payment_id, order.user_id) == (
        OrderStatus.PAYMENT_PENDING,
        PAYMENT,
        31,
    )
    assert (order.total.minor, order.total.currency, order.captured.minor) == (TOTAL, "usd", 0)
    [created] = orders.history()
    assert (created["from"], created["to"], created["applied"]) == (None, "PAYMENT_PENDING", True)
    assert (created["cause"], created["eventId"]) == ("PAYMENT_INITIATED", str(initiated.event_id))
    assert orders.owed() == []  # entering PAYMENT_PENDING publishes nothing


def test_payment_completed_places_the_order_and_owes_order_created(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    completed = payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1)
    orders.deliver(completed)

    order = orders.order()
    assert order.status is OrderStatus.PENDING
    assert (order.captured.minor, order.payment_attempt) == (TOTAL, 1)
    assert _moves(orders.history())[-1] == ("PAYMENT_PENDING", "PENDING", True)
    assert orders.history()[-1]["eventId"] == str(completed.event_id)
    [created] = orders.owed()
    assert isinstance(created, OrderEvent)
    assert created.event_type is OrderEventType.ORDER_CREATED
    assert (created.status, created.previous_status) == (
        OrderStatus.PENDING,
        OrderStatus.PAYMENT_PENDING,
    )
    assert (created.payment_id, created.total_amount_minor, created.user_id) == (PAYMENT, TOTAL, 31)
    # One row per destination: its own topic and the order family's catch-all.
    assert orders.outbox_topics() == ["order-created", "order-events"]
    assert orders.compensations() == []


def test_payment_failed_moves_the_order_to_payment_failed_and_owes_nothing(
    orders: Orders,
) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(
        payment(PaymentEventType.PAYMENT_FAILED, attempt=1, failure_reason="card_declined")
    )

    order = orders.order()
    assert (order.status, order.payment_attempt) == (OrderStatus.PAYMENT_FAILED, 1)
    assert _moves(orders.history())[-1] == ("PAYMENT_PENDING", "PAYMENT_FAILED", True)
    assert orders.owed() == []


def test_a_successful_retry_after_a_decline_places_the_order(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_FAILED, attempt=1))
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, attempt=2))

    order = orders.order()
    assert (order.status, order.payment_attempt) == (OrderStatus.PENDING, 2)
    assert _types(orders.owed()) == ["ORDER_CREATED"]


def test_the_same_event_delivered_twice_changes_the_order_once(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    completed = payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1)
    orders.deliver(completed)
    history, owed, processed = orders.history(), orders.owed(), orders.processed()

    orders.deliver(completed)  # redelivered by Kafka: same eventId

    assert orders.history() == history
    assert orders.owed() == owed
    assert orders.processed() == processed == 2
    assert orders.order().status is OrderStatus.PENDING


def test_the_same_facts_under_a_new_event_id_are_audited_as_a_duplicate(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    completed = payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1)
    orders.deliver(completed)

    again = completed.model_copy(update={"event_id": uuid4()})  # republished anew
    orders.deliver(again)

    last = orders.history()[-1]
    assert (last["from"], last["to"], last["applied"]) == ("PENDING", "PENDING", False)
    assert last["note"].startswith("duplicate")
    assert last["eventId"] == str(again.event_id)
    assert _types(orders.owed()) == ["ORDER_CREATED"]


@pytest.mark.parametrize(
    ("late", "fields"),
    [
        (PaymentEventType.PAYMENT_FAILED, {"attempt": 1}),
        (PaymentEventType.PAYMENT_PROCESSING, {}),
    ],
    ids=["failed-of-the-same-attempt", "processing"],
)
def test_a_late_event_that_would_move_the_order_back_is_audited_and_ignored(
    orders: Orders, late: PaymentEventType, fields: dict[str, Any]
) -> None:
    _placed(orders)
    stale = payment(late, **fields)
    orders.deliver(stale)

    assert orders.order().status is OrderStatus.PENDING
    last = orders.history()[-1]
    assert (last["from"], last["applied"], last["cause"]) == ("PENDING", False, late.value)
    assert last["note"].startswith("stale")
    assert last["eventId"] == str(stale.event_id)
    assert _types(orders.owed()) == ["ORDER_CREATED"]


def test_a_failure_of_an_older_attempt_is_stale_after_a_newer_one_succeeded(
    orders: Orders,
) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, attempt=2))
    orders.deliver(payment(PaymentEventType.PAYMENT_FAILED, attempt=1))

    assert orders.order().status is OrderStatus.PENDING
    last = orders.history()[-1]
    assert (last["to"], last["applied"]) == ("PAYMENT_FAILED", False)
    assert "attempt 1" in last["note"]


def test_an_event_of_another_payment_is_audited_and_ignored(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_FAILED, payment_id=PAYMENT + 1))

    assert orders.order().status is OrderStatus.PAYMENT_PENDING
    last = orders.history()[-1]
    assert (last["from"], last["to"], last["applied"]) == (
        "PAYMENT_PENDING",
        "PAYMENT_PENDING",
        False,
    )
    assert last["note"] == f"payment {PAYMENT + 1} is not the order's"


def _followed_by_a_new_payment(orders: Orders) -> Order:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_FAILED, attempt=1))
    orders.deliver(
        payment(PaymentEventType.PAYMENT_INITIATED, payment_id=PAYMENT + 1, amount_minor=3000)
    )
    return orders.order()


def test_a_new_payment_for_a_failed_order_is_followed(orders: Orders) -> None:
    order = _followed_by_a_new_payment(orders)

    assert (order.status, order.payment_id, order.payment_attempt) == (
        OrderStatus.PAYMENT_FAILED,
        PAYMENT + 1,
        None,
    )
    assert orders.history()[-1]["to"] == "PAYMENT_FAILED"  # no status change: no audit line
    assert orders.owed() == []


def test_a_new_payment_for_a_failed_order_sets_the_orders_total(orders: Orders) -> None:
    assert _followed_by_a_new_payment(orders).total.minor == 3000


def test_payment_events_for_an_unknown_order_other_than_completion_are_ignored(
    orders: Orders,
) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_FAILED, attempt=1))
    orders.deliver(payment(PaymentEventType.PAYMENT_CANCELLED))

    assert not orders.exists()
    assert orders.history() == []
    assert orders.owed() == []
    assert orders.processed() == 2  # handled: each is a no-op, and not seen again


def test_a_cancelled_payment_cancels_an_unpaid_order(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_CANCELLED))

    assert orders.order().status is OrderStatus.CANCELLED
    [cancelled] = orders.owed()
    assert cancelled.event_type is OrderEventType.ORDER_CANCELLED


# -- saga compensation --------------------------------------------------------------------------


def _refund_request(orders: Orders) -> PaymentEvent:
    [request] = [
        e for e in orders.owed() if e.event_type is PaymentEventType.PAYMENT_REFUND_INITIATED
    ]
    assert isinstance(request, PaymentEvent)
    return request


def test_payment_completed_for_a_cancelled_order_is_refunded(orders: Orders) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.deliver(payment(PaymentEventType.PAYMENT_CANCELLED))
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1))  # captured after all

    order = orders.order()
    assert order.status is OrderStatus.CANCELLED  # it stays cancelled; the money goes back
    assert order.compensated_at is not None
    request = _refund_request(orders)
    assert (request.payment_id, request.refund_amount_minor, request.refund_reason) == (
        PAYMENT,
        TOTAL,
        "order_cancelled",
    )
    assert request.refund_request_id == compensation_request_id(ORDER, PAYMENT)
    assert request.status is PaymentStatus.REFUND_PENDING
    assert [(c["kind"], c["reason"], c["amountMinor"]) for c in orders.compensations()] == [
        ("REFUND", "order_cancelled", TOTAL)
    ]
    assert orders.outbox_topics()[-2:] == ["payment-refund-initiated", "payment-events"]


def test_payment_completed_for_an_order_never_created_records_it_and_refunds(
    orders: Orders,
) -> None:
    # Its PAYMENT_INITIATED never arrived (dead-lettered, say).
    completed = payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1)
    orders.deliver(completed)

    order = orders.order()
    assert (order.status, order.reason) == (OrderStatus.CANCELLING, "order was never created")
    assert (order.captured.minor, order.payment_id, order.payment_attempt) == (TOTAL, PAYMENT, 1)
    assert _moves(orders.history()) == [(None, "CANCELLING", True)]
    assert orders.history()[0]["eventId"] == str(completed.event_id)
    request = _refund_request(orders)
    assert (request.refund_amount_minor, request.refund_reason) == (TOTAL, "order_not_found")
    assert _types(orders.owed()) == ["PAYMENT_REFUND_INITIATED"]
    assert [c["reason"] for c in orders.compensations()] == ["order_not_found"]


def test_a_second_payment_for_an_order_already_paid_is_refunded(orders: Orders) -> None:
    _placed(orders)
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, payment_id=PAYMENT + 1, attempt=1))

    order = orders.order()
    assert (order.status, order.payment_id) == (OrderStatus.PENDING, PAYMENT)
    request = _refund_request(orders)
    assert (request.payment_id, request.refund_reason) == (PAYMENT + 1, "order_already_paid")
    assert request.refund_request_id == compensation_request_id(ORDER, PAYMENT + 1)


def test_an_order_that_cannot_be_placed_after_payment_is_cancelled_and_refunded(
    orders: Orders,
) -> None:
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    orders.service.faults.add(FaultSpec(point="place-order", mode="permanent", orderId=ORDER))
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1))

    order = orders.order()
    assert order.status is OrderStatus.CANCELLING
    assert (order.reason or "").startswith("order could not be placed")
    assert _moves(orders.history())[-2:] == [
        ("PAYMENT_PENDING", "PENDING", True),
        ("PENDING", "CANCELLING", True),
    ]
    assert _types(orders.owed()) == [
        "ORDER_CREATED",
        "ORDER_CANCELLED",
        "PAYMENT_REFUND_INITIATED",
    ]
    assert _refund_request(orders).refund_reason == "order_not_placed"


def test_the_full_refund_ends_a_cancelling_order_refunded(orders: Orders) -> None:
    _placed(orders)
    orders.service.cancel(ORDER, "changed my mind")  # paid: CANCELLING, refund asked for
    assert orders.order().status is OrderStatus.CANCELLING

    orders.deliver(refunded_in_full())

    order = orders.order()
    assert (order.status, order.refunded.minor) == (OrderStatus.REFUNDED, TOTAL)


def _refund_failed(request_id: str) -> PaymentEvent:
    """Stripe refused the refund ``request_id`` for good (as the payment service says)."""
    return payment(
        PaymentEventType.PAYMENT_REFUND_FAILED,
        status=PaymentStatus.COMPLETED,
        refund_amount_minor=TOTAL,
        refund_reason="customer_cancelled",
        refund_request_id=request_id,
        failure_reason="Refund amount ($25.99) is greater than unrefunded amount on charge",
        error_code="amount_too_large",
    )


def test_the_sagas_refund_refused_for_good_leaves_the_order_to_an_operator(
    orders: Orders,
) -> None:
    _placed(orders)
    orders.service.cancel(ORDER, "changed my mind")
    owed = orders.owed()
    failed = _refund_failed(compensation_request_id(ORDER, PAYMENT))
    orders.deliver(failed)
    orders.deliver(failed)  # redelivered: nothing more

    order = orders.order()
    assert order.status is OrderStatus.REFUND_FAILED
    assert "greater than unrefunded amount" in (order.reason or "")
    assert _moves(orders.history())[-1] == ("CANCELLING", "REFUND_FAILED", True)
    assert orders.history()[-1]["eventId"] == str(failed.event_id)
    assert orders.owed() == owed  # no order event, no refund asked for again
    failure, refund = orders.compensations()  # newest first
    assert (refund["kind"], refund["reason"], refund["amountMinor"]) == (
        "REFUND",
        "customer_cancelled",
        TOTAL,
    )
    assert (failure["kind"], failure["reason"], failure["amountMinor"]) == (
        "REFUND_FAILED",
        "customer_cancelled",
        TOTAL,
    )
    assert failure["detail"].endswith("(code amount_too_large)")

    # The operator refunds it in full through the payment API: the order ends REFUNDED.
    orders.deliver(refunded_in_full())
    assert orders.order().status is OrderStatus.REFUNDED
    assert _moves(orders.history())[-1] == ("REFUND_FAILED", "REFUNDED", True)


def test_a_failed_refund_the_saga_did_not_ask_for_leaves_the_order_be(orders: Orders) -> None:
    _placed(orders)
    orders.service.cancel(ORDER, "changed my mind")
    orders.deliver(_refund_failed("api-partial-1"))

    assert orders.order().status is OrderStatus.CANCELLING
    last = orders.history()[-1]
    assert (last["to"], last["applied"]) == ("CANCELLING", False)
    assert last["note"].startswith("refund api-partial-1 is not the saga's")
    assert [c["kind"] for c in orders.compensations()] == ["REFUND"]


def test_the_sagas_failed_refund_of_a_cancelled_order_is_recorded_not_applied(
    orders: Orders,
) -> None:
    # Cancelled unpaid, then captured all the same: the saga refunds, and Stripe refuses.
    orders.deliver(payment(PaymentEventType.PAYMENT_INITIATED))
    with orders.service.uow() as uow:
        order = repo.get(uow.connection, ORDER)
        orders.service.move(
            uow, order, replace(order, status=OrderStatus.CANCELLED), cause="test: cancelled"
        )
    orders.deliver(payment(PaymentEventType.PAYMENT_COMPLETED, attempt=1))
    orders.deliver(_refund_failed(compensation_request_id(ORDER, PAYMENT)))

    assert orders.order().status is OrderStatus.CANCELLED
    last = orders.history()[-1]
    assert (last["to"], last["applied"]) == ("REFUND_FAILED", False)
    assert last["note"].startswith("refund failed for good while CANCELLED")
    assert [c["kind"] for c in orders.compensations()] == ["REFUND_FAILED", "REFUND"]


@pytest.mark.parametrize("accepted", [False, True])
def test_a_full_refund_of_a_paid_undelivered_order_cancels_it_on_the_way(
    orders: Orders, accepted: bool
) -> None:
    # Refunded through the payment API: the saga asked for nothing, the order still runs.
    _placed(orders)
    if accepted:
        orders.service.restaurant(ORDER, RestaurantMove.ACCEPT, None)
    before = orders.order().status
    refunded = refunded_in_full()
    orders.deliver(refunded)

    order = orders.order()
    assert (order.status, order.refunded.minor) == (OrderStatus.REFUNDED, TOTAL)
    assert order.reason == event_reactions.REFUNDED_OUTSIDE
    assert _moves(orders.history())[-2:] == [
        (before.value, "CANCELLING", True),
        ("CANCELLING", "REFUNDED", True),
    ]
    assert {h["eventId"] for h in orders.history()[-2:]} == {str(refunded.event_id)}
    # The restaurant and the courier are told, as for any cancellation; no refund is
    # asked for again.
    cancelled = orders.owed()[-1]
    assert isinstance(cancelled, OrderEvent)
    assert cancelled.event_type is OrderEventType.ORDER_CANCELLED
    assert cancelled.reason == event_reactions.REFUNDED_OUTSIDE
    assert PaymentEventType.PAYMENT_REFUND_INITIATED.value not in _types(orders.owed())
    assert orders.compensations() == []


def test_a_full_refund_of_a_delivered_order_leaves_it_delivered(orders: Orders) -> None:
    _ready_for_pickup(orders)
    orders.deliver(delivery(DeliveryEventType.DELIVERY_DELIVERED))
    owed = orders.owed()
    orders.deliver(refunded_in_full())
    assert orders.order().status is OrderStatus.DELIVERED
    assert orders.owed() == owed


def test_a_partial_refund_notes_the_money_and_leaves_the_order_be(orders: Orders) -> None:
    _placed(orders)
    orders.deliver(
        payment(
            PaymentEventType.PAYMENT_REFUNDED,
            status=PaymentStatus.PARTIALLY_REFUNDED,
            refund_amount_minor=500,
        )
    )

    order = orders.order()
    assert (order.status, order.refunded.minor) == (OrderStatus.PENDING, 500)


# -- delivery events ----------------------------------------------------------------------------


def _ready_for_pickup(orders: Orders) -> None:
    _placed(orders)
    for move in (RestaurantMove.ACCEPT, RestaurantMove.START_PREPARING, RestaurantMove.MARK_READY):
        orders.service.restaurant(ORDER, move, None)


def test_delivery_events_move_the_order_out_for_delivery_and_delivered(orders: Orders) -> None:
    _ready_for_pickup(orders)

    orders.deliver(delivery(DeliveryEventType.DELIVERY_ASSIGNED))  # moves nothing
    assert orders.order().status is OrderStatus.READY_FOR_PICKUP
    orders.deliver(delivery(DeliveryEventType.DELIVERY_PICKED_UP))
    assert orders.order().status is OrderStatus.OUT_FOR_DELIVERY
    orders.deliver(delivery(DeliveryEventType.DELIVERY_IN_TRANSIT))  # already there
    orders.deliver(delivery(DeliveryEventType.DELIVERY_DELIVERED))

    assert orders.order().status is OrderStatus.DELIVERED
    assert _types(orders.owed()) == [
        "ORDER_CREATED",
        "ORDER_CONFIRMED",
        "ORDER_PREPARING",
        "ORDER_READY_FOR_PICKUP",
        "ORDER_OUT_FOR_DELIVERY",
        "ORDER_DELIVERED",
    ]
    applied = [(h["to"], h["cause"]) for h in orders.history() if h["applied"]]
    assert applied[-2:] == [
        ("OUT_FOR_DELIVERY", "DELIVERY_PICKED_UP"),
        ("DELIVERED", "DELIVERY_DELIVERED"),
    ]
    duplicate = orders.history()[-2]
    assert (duplicate["cause"], duplicate["applied"]) == ("DELIVERY_IN_TRANSIT", False)


def test_a_late_pickup_after_delivery_is_audited_and_ignored(orders: Orders) -> None:
    _ready_for_pickup(orders)
    orders.deliver(delivery(DeliveryEventType.DELIVERY_DELIVERED))  # PICKED_UP was late
    assert orders.order().status is OrderStatus.DELIVERED

    orders.deliver(delivery(DeliveryEventType.DELIVERY_PICKED_UP))

    assert orders.order().status is OrderStatus.DELIVERED
    last = orders.history()[-1]
    assert (last["to"], last["applied"]) == ("OUT_FOR_DELIVERY", False)
    assert last["note"].startswith("stale")
    assert _types(orders.owed())[-1] == "ORDER_DELIVERED"


def test_a_delivery_landing_during_a_refund_is_a_conflict_not_applied(orders: Orders) -> None:
    _ready_for_pickup(orders)
    orders.service.cancel(ORDER, "too slow")

    orders.deliver(delivery(DeliveryEventType.DELIVERY_DELIVERED))

    assert orders.order().status is OrderStatus.CANCELLING
    last = orders.history()[-1]
    assert (last["to"], last["applied"]) == ("DELIVERED", False)
    assert last["note"].startswith("conflict")


def test_delivery_events_for_an_unknown_order_are_ignored(orders: Orders) -> None:
    orders.deliver(delivery(DeliveryEventType.DELIVERY_DELIVERED))
    assert not orders.exists()
    assert orders.owed() == []


# -- the handler's transaction -------------------------------------------------------------------


def test_a_rejected_event_leaves_no_trace_so_it_can_be_replayed(orders: Orders) -> None:
    broken = payment(PaymentEventType.PAYMENT_INITIATED, amount_minor=None, currency=None)

    with pytest.raises(PermanentError, match="lacks paymentId or amount"):
        orders.deliver(broken)

    # Rolled back with the tracking row: replayed once fixed, it is not taken as a duplicate.
    assert orders.processed() == 0
    assert not orders.exists()


def test_an_injected_handling_fault_fails_before_anything_is_written(orders: Orders) -> None:
    orders.service.faults.add(FaultSpec(point="handle", mode="transient", orderId=ORDER, times=1))
    initiated = payment(PaymentEventType.PAYMENT_INITIATED)

    with pytest.raises(InjectedTransientError):
        orders.deliver(initiated)
    assert (orders.processed(), orders.exists()) == (0, False)

    orders.deliver(initiated)  # the consumer loop's retry
    assert orders.order().status is OrderStatus.PAYMENT_PENDING
    assert orders.processed() == 1


def test_the_tracking_row_is_kept_under_the_handlers_group(tmp_path: Path) -> None:
    blue = _orders(tmp_path, group="order-service-blue")
    initiated = payment(PaymentEventType.PAYMENT_INITIATED)
    blue.deliver(initiated)

    with blue.engine.connect() as conn:
        rows = conn.execute(select(processed_events.c.consumer_group, processed_events.c.event_id))
        assert rows.all() == [("order-service-blue", str(initiated.event_id))]
    blue.engine.dispose()
