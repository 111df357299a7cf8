"""A payment cancel the saga owes is written with the order's move and asked until answered.

The order service on a real SQLite file, with a payment client scripted to answer or not;
the clock is the test's, so the retry schedule is read, not waited for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.status import OrderStatus
from paysim.services.faults import FaultPoints, FaultSpec
from paysim.services.order import payment_cancels
from paysim.services.order import repository as repo
from paysim.services.order.event_reactions import order_handler
from paysim.services.order.payment_client import (
    PaymentCancelRefusedError,
    PaymentServiceUnavailableError,
)
from paysim.services.order.service import OrderService
from paysim.services.order.tables import metadata
from paysim.store import create_engine_for, create_schema, sqlite_url

ORDER, PAYMENT = 202, 9


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ScriptedPayments:
    """The payment service's cancel: each call takes the next answer (an exception is
    raised, a bool returned); ``pending_seen`` is the compensation as the call found it."""

    answers: list[bool | Exception]
    calls: list[tuple[int, str]] = field(default_factory=list)
    pending_seen: list[dict[str, Any]] = field(default_factory=list)
    service: OrderService | None = None

    def cancel(self, payment_id: int, reason: str) -> bool:
        self.calls.append((payment_id, reason))
        if self.service is not None:
            self.pending_seen.append(_compensation(self.service))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def payments() -> ScriptedPayments:
    return ScriptedPayments(answers=[])


@pytest.fixture
def service(tmp_path: Path, clock: Clock, payments: ScriptedPayments) -> Iterator[OrderService]:
    engine = create_engine_for(sqlite_url(tmp_path / "order.db"))
    create_schema(engine, metadata)
    made = OrderService(engine, payments, FaultPoints(), clock=clock)  # type: ignore[arg-type]
    payments.service = made
    handle = order_handler(made)
    initiated = PaymentEvent(
        event_type=PaymentEventType.PAYMENT_INITIATED,
        order_id=ORDER,
        payment_id=PAYMENT,
        user_id=31,
        amount_minor=1250,
        currency="usd",
    )
    handle(initiated, None)  # type: ignore[arg-type]  # the record is not read
    yield made
    engine.dispose()


def _compensation(service: OrderService) -> dict[str, Any]:
    with service.uow() as uow:
        [only] = repo.compensation_list(uow.connection)
    return only


def _unanswered() -> Exception:
    return PaymentServiceUnavailableError("cancel of payment 9: connection refused")


def test_the_cancel_is_written_with_the_move_before_it_is_asked(
    service: OrderService, payments: ScriptedPayments
) -> None:
    payments.answers = [True]
    assert service.cancel(ORDER, "changed my mind").status is OrderStatus.CANCELLED
    # Committed before the call: a crash during it leaves the cancel owed, not forgotten.
    [seen] = payments.pending_seen
    assert (seen["kind"], seen["reason"], seen["settledAt"]) == (
        "CANCEL_PAYMENT",
        "customer_cancelled",
        None,
    )
    assert payments.calls == [(PAYMENT, "changed my mind")]
    answered = _compensation(service)
    assert (answered["detail"], answered["tries"]) == ("cancelled", 1)
    assert answered["settledAt"] is not None


def test_an_unanswered_cancel_is_asked_again_with_growing_waits_until_answered(
    service: OrderService, payments: ScriptedPayments, clock: Clock
) -> None:
    payments.answers = [_unanswered(), _unanswered(), True]
    service.cancel(ORDER, "changed my mind")
    pending = _compensation(service)
    assert (pending["settledAt"], pending["tries"]) == (None, 1)
    assert pending["detail"].startswith("no answer: cancel of payment 9")

    # Not due before its wait (2 s after the first try) has passed.
    clock.now += timedelta(seconds=1)
    assert payment_cancels.retry_due(service) == 0
    assert len(payments.calls) == 1
    clock.now += timedelta(seconds=1)
    assert payment_cancels.retry_due(service) == 0  # asked, no answer again
    assert (len(payments.calls), _compensation(service)["tries"]) == (2, 2)
    clock.now += timedelta(seconds=3)
    assert payment_cancels.retry_due(service) == 0  # the next wait is 4 s
    clock.now += timedelta(seconds=1)
    assert payment_cancels.retry_due(service) == 1

    answered = _compensation(service)
    assert (answered["detail"], answered["tries"], len(payments.calls)) == ("cancelled", 3, 3)
    assert answered["settledAt"] is not None
    # The retries tell the payment service the saga's reason; settled, nobody asks again.
    assert payments.calls[-1] == (PAYMENT, "customer_cancelled")
    clock.now += timedelta(hours=1)
    assert payment_cancels.retry_due(service) == 0
    assert len(payments.calls) == 3


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (False, payment_cancels.NOT_CANCELLABLE),
        (PaymentCancelRefusedError("HTTP 404 no such payment"), "refused: HTTP 404"),
    ],
)
def test_a_cancel_the_payment_service_cannot_do_is_settled_not_asked_again(
    service: OrderService,
    payments: ScriptedPayments,
    clock: Clock,
    answer: bool | Exception,
    detail: str,
) -> None:
    payments.answers = [_unanswered(), answer]
    service.cancel(ORDER, "changed my mind")
    clock.now += timedelta(seconds=2)
    assert payment_cancels.retry_due(service) == 1
    assert _compensation(service)["detail"].startswith(detail)
    clock.now += timedelta(hours=1)
    assert payment_cancels.retry_due(service) == 0
    assert len(payments.calls) == 2


def test_the_cancel_fault_point_stands_in_for_an_unanswered_call(
    service: OrderService, payments: ScriptedPayments, clock: Clock
) -> None:
    service.faults.add(FaultSpec(point=payment_cancels.FAULT_POINT, order_id=ORDER, times=1))
    payments.answers = [True]
    service.cancel(ORDER, "changed my mind")
    assert payments.calls == []  # the fault fired before the call
    assert _compensation(service)["detail"].startswith("no answer: injected transient failure")
    clock.now += timedelta(seconds=2)
    assert payment_cancels.retry_due(service) == 1
    assert _compensation(service)["detail"] == "cancelled"
