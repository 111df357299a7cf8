"""The run invariants detect what they are meant to, and pass a clean run."""

from __future__ import annotations

import pytest

from paysim.domain.invariants import (
    STATUS_AGREEMENT,
    Charge,
    InFlight,
    OrderRecord,
    PaymentRecord,
    Refund,
    Verdict,
    Violation,
    captured_payments_settled,
    check_run,
    no_double_charge,
    no_refund_left_to_an_operator,
    nothing_in_flight,
    refunds_within_captures,
    statuses_agree,
)
from paysim.domain.money import Money
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.errors import MoneyError


def usd(cents: int) -> Money:
    return Money(cents, "usd")


def payment(
    payment_id: int,
    order_id: int,
    status: PaymentStatus,
    charges: tuple[int, ...] = (),
    refunds: tuple[int, ...] = (),
) -> PaymentRecord:
    return PaymentRecord(
        payment_id,
        order_id,
        status,
        "usd",
        tuple(Charge(f"ch_{payment_id}_{i}", usd(c)) for i, c in enumerate(charges)),
        tuple(Refund(f"re_{payment_id}_{i}", usd(r)) for i, r in enumerate(refunds)),
    )


def order(
    order_id: int, status: OrderStatus, payment_status: PaymentStatus | None, payment_id: int = 0
) -> OrderRecord:
    return OrderRecord(order_id, status, payment_id or order_id, payment_status)


CLEAN_PAYMENTS = [
    payment(1, 1, PaymentStatus.COMPLETED, charges=(1000,)),
    payment(2, 2, PaymentStatus.REFUNDED, charges=(1000,), refunds=(400, 600)),
    payment(3, 3, PaymentStatus.CANCELLED),
    payment(4, 4, PaymentStatus.FAILED),
]
CLEAN_ORDERS = [
    order(1, OrderStatus.DELIVERED, PaymentStatus.COMPLETED),
    order(2, OrderStatus.REFUNDED, PaymentStatus.REFUNDED),
    order(3, OrderStatus.CANCELLED, PaymentStatus.CANCELLED),
    order(4, OrderStatus.PAYMENT_FAILED, PaymentStatus.FAILED),
]


def test_clean_drained_run_passes() -> None:
    verdicts = check_run(CLEAN_PAYMENTS, CLEAN_ORDERS, [InFlight("outbox", 0)], drained=True)
    assert len(verdicts) == 6
    assert all(v.ok for v in verdicts), "\n".join(str(v) for v in verdicts)


def test_double_charge_is_detected() -> None:
    twice = PaymentRecord(
        9, 9, PaymentStatus.COMPLETED, "usd", (Charge("ch_a", usd(500)), Charge("ch_b", usd(500)))
    )
    verdict = no_double_charge([twice])
    assert not verdict.ok
    assert verdict.violations == (Violation("payment 9", "charged 2 times"),)


def test_same_charge_recorded_twice_is_not_a_double_charge() -> None:
    echoed = PaymentRecord(
        9, 9, PaymentStatus.COMPLETED, "usd", (Charge("ch_a", usd(500)), Charge("ch_a", usd(500)))
    )
    assert no_double_charge([echoed]).ok
    assert echoed.captured == usd(500)


def test_order_paid_by_two_kept_payments_is_detected() -> None:
    first = payment(1, 7, PaymentStatus.COMPLETED, charges=(500,))
    second = payment(2, 7, PaymentStatus.COMPLETED, charges=(500,))
    verdict = no_double_charge([first, second])
    assert [str(v) for v in verdict.violations] == ["order 7: paid for by payments 1, 2"]
    refunded = payment(2, 7, PaymentStatus.REFUNDED, charges=(500,), refunds=(500,))
    assert no_double_charge([first, refunded]).ok


def test_refunds_above_captures_are_detected() -> None:
    verdict = refunds_within_captures(
        [payment(5, 5, PaymentStatus.REFUNDED, charges=(500,), refunds=(501,))]
    )
    assert [str(v) for v in verdict.violations] == [
        "payment 5: refunded 5.01 USD of 5.00 USD captured"
    ]


def test_captured_payment_with_a_cancelled_order_is_detected() -> None:
    kept = payment(6, 6, PaymentStatus.COMPLETED, charges=(1000,))
    verdict = captured_payments_settled(
        [kept], [order(6, OrderStatus.CANCELLED, PaymentStatus.COMPLETED)], drained=True
    )
    assert [str(v) for v in verdict.violations] == [
        "payment 6: keeps 10.00 USD but order 6 is CANCELLED"
    ]


def test_captured_payment_without_an_order_is_detected() -> None:
    kept = payment(6, 6, PaymentStatus.COMPLETED, charges=(1000,))
    verdict = captured_payments_settled([kept], [], drained=False)
    assert verdict.violations[0].detail == "keeps 10.00 USD but no order"


def test_placed_order_settles_a_payment_only_until_the_run_drains() -> None:
    kept = payment(6, 6, PaymentStatus.COMPLETED, charges=(1000,))
    orders = [order(6, OrderStatus.PREPARING, PaymentStatus.COMPLETED)]
    assert captured_payments_settled([kept], orders, drained=False).ok
    assert not captured_payments_settled([kept], orders, drained=True).ok


def test_partial_refund_of_a_cancelled_order_keeps_money() -> None:
    partly = payment(6, 6, PaymentStatus.PARTIALLY_REFUNDED, charges=(1000,), refunds=(300,))
    verdict = captured_payments_settled(
        [partly], [order(6, OrderStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED)], drained=True
    )
    assert "keeps 7.00 USD" in verdict.violations[0].detail


@pytest.mark.parametrize(
    ("order_status", "payment_status"),
    [
        (OrderStatus.DELIVERED, PaymentStatus.FAILED),
        (OrderStatus.PENDING, PaymentStatus.PENDING),
        (OrderStatus.REFUNDED, PaymentStatus.COMPLETED),
        (OrderStatus.CANCELLED, PaymentStatus.COMPLETED),
        (OrderStatus.PAYMENT_FAILED, PaymentStatus.COMPLETED),
        (OrderStatus.CANCELLING, PaymentStatus.CANCELLED),
    ],
)
def test_disagreeing_statuses_are_detected(
    order_status: OrderStatus, payment_status: PaymentStatus
) -> None:
    verdict = statuses_agree([order(8, order_status, payment_status)])
    assert [str(v) for v in verdict.violations] == [
        f"order 8: is {order_status} but payment 8 is {payment_status}"
    ]


def test_agreement_table_covers_every_order_status() -> None:
    assert set(STATUS_AGREEMENT) == set(OrderStatus)
    assert PaymentStatus.COMPLETED in STATUS_AGREEMENT[OrderStatus.DELIVERED]
    assert STATUS_AGREEMENT[OrderStatus.REFUNDED] == {PaymentStatus.REFUNDED}
    assert STATUS_AGREEMENT[OrderStatus.CANCELLED] == {
        PaymentStatus.CANCELLED,
        PaymentStatus.FAILED,
        PaymentStatus.REFUNDED,
    }


def test_order_without_payment_is_detected() -> None:
    assert not statuses_agree([order(3, OrderStatus.DELIVERED, None)]).ok


def test_work_left_in_flight_is_detected() -> None:
    verdict = nothing_in_flight(
        [InFlight("outbox", 0), InFlight("lag order-service-group", 3)],
        orders=[order(1, OrderStatus.CANCELLING, PaymentStatus.REFUND_PENDING)],
        payments=[payment(1, 1, PaymentStatus.REFUND_PENDING, charges=(100,))],
    )
    assert [str(v) for v in verdict.violations] == [
        "lag order-service-group: 3 in flight",
        "order 1: still CANCELLING",
        "payment 1: still REFUND_PENDING",
    ]


def test_mid_run_check_skips_drain_only_invariants() -> None:
    stuck = [order(1, OrderStatus.PREPARING, PaymentStatus.COMPLETED)]
    verdicts = check_run(CLEAN_PAYMENTS[:1], stuck, [InFlight("outbox", 5)], drained=False)
    assert [v.name for v in verdicts] == [
        "no payment charged twice",
        "every captured payment ends in an order or a refund",
        "refunds never exceed captures",
        "no refund left to an operator",
    ]
    assert all(v.ok for v in verdicts)


def test_an_order_whose_refund_failed_for_good_is_named_never_passed() -> None:
    """REFUND_FAILED agrees with its payment and is at rest, yet the run fails on it."""
    payments = [payment(5, 5, PaymentStatus.COMPLETED, charges=(1000,))]
    orders = [order(5, OrderStatus.REFUND_FAILED, PaymentStatus.COMPLETED)]
    verdicts = {v.name: v for v in check_run(payments, orders, [], drained=True)}

    [left] = verdicts["no refund left to an operator"].violations
    assert str(left) == (
        "order 5: refund failed for good; payment 5 is COMPLETED and keeps the money: "
        "an operator must refund it"
    )
    [kept] = verdicts["every captured payment ends in an order or a refund"].violations
    assert str(kept) == "payment 5: keeps 10.00 USD but order 5 is REFUND_FAILED"
    # Agreement and in-flight hold: the status tells the truth and nothing will move it.
    assert verdicts["every order agrees with its payment"].ok
    assert verdicts["nothing left in flight once drained"].ok
    assert no_refund_left_to_an_operator(CLEAN_ORDERS).ok


def test_verdict_prints_for_a_report() -> None:
    assert str(Verdict("x")) == "PASS x"
    failed = Verdict("x", (Violation("order 1", "bad"),))
    assert not failed.ok
    assert str(failed) == "FAIL x\n  order 1: bad"


def test_record_in_a_foreign_currency_is_refused() -> None:
    with pytest.raises(MoneyError, match="payment 1 in usd"):
        PaymentRecord(1, 1, PaymentStatus.COMPLETED, "USD", (Charge("ch", Money(100, "inr")),))
