"""Refund arithmetic in two-decimal (USD, INR) and zero-decimal (JPY) currencies."""

from __future__ import annotations

import pytest

from paysim.domain.money import Money
from paysim.domain.refunds import (
    NothingToRefundError,
    RefundCurrencyError,
    RefundError,
    RefundLedgerError,
    RefundNotPositiveError,
    RefundTooLargeError,
    refundable,
    status_after_failed_refund,
    status_after_refund,
    status_after_refunds,
    validate_refund,
)
from paysim.domain.status import PaymentStatus
from paysim.errors import PermanentError


def usd(amount: str) -> Money:
    return Money.from_decimal(amount, "usd")


def inr(amount: str) -> Money:
    return Money.from_decimal(amount, "inr")


def jpy(amount: str) -> Money:
    return Money.from_decimal(amount, "jpy")


def test_refund_above_what_is_left_says_so() -> None:
    with pytest.raises(RefundTooLargeError) as info:
        validate_refund(usd("12.00"), captured=usd("25.00"), refunded=usd("15.00"))
    assert str(info.value) == "refund of 12.00 USD exceeds the 10.00 USD still refundable"
    assert isinstance(info.value, PermanentError)


@pytest.mark.parametrize(
    ("requested", "captured", "refunded", "expected"),
    [
        (usd("10.00"), usd("25.00"), usd("15.00"), usd("10.00")),
        (usd("0.01"), usd("25.00"), usd("0"), usd("0.01")),
        (None, usd("25.00"), usd("15.50"), usd("9.50")),
        (inr("499.50"), inr("999.00"), inr("0"), inr("499.50")),
        (None, inr("999.00"), inr("499.50"), inr("499.50")),
        (jpy("1500"), jpy("3000"), jpy("1500"), jpy("1500")),
        (None, jpy("3000"), jpy("1"), jpy("2999")),
    ],
)
def test_valid_refunds(
    requested: Money | None, captured: Money, refunded: Money, expected: Money
) -> None:
    assert validate_refund(requested, captured, refunded) == expected


@pytest.mark.parametrize(
    ("requested", "captured", "refunded", "error", "message"),
    [
        (usd("0"), usd("10.00"), usd("0"), RefundNotPositiveError, "refund of 0.00 USD"),
        (usd("-1.00"), usd("10.00"), usd("0"), RefundNotPositiveError, "must be positive"),
        (inr("10.00"), usd("10.00"), usd("0"), RefundCurrencyError, "INR does not match"),
        (
            inr("500.01"),
            inr("999.00"),
            inr("499.00"),
            RefundTooLargeError,
            "refund of 500.01 INR exceeds the 500.00 INR still refundable",
        ),
        (
            jpy("1501"),
            jpy("3000"),
            jpy("1500"),
            RefundTooLargeError,
            "refund of 1501 JPY exceeds the 1500 JPY still refundable",
        ),
        (None, jpy("3000"), jpy("3000"), NothingToRefundError, "nothing left to refund"),
        (None, usd("5.00"), usd("6.00"), RefundLedgerError, "exceeds the 5.00 USD captured"),
        (None, usd("5.00"), inr("1.00"), RefundLedgerError, "not in the captured currency"),
    ],
)
def test_invalid_refunds(
    requested: Money | None,
    captured: Money,
    refunded: Money,
    error: type[RefundError],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        validate_refund(requested, captured, refunded)


def test_refundable_is_captured_minus_refunded() -> None:
    assert refundable(inr("999.00"), inr("0.99")) == inr("998.01")


@pytest.mark.parametrize(
    ("captured", "refunded", "status"),
    [
        (usd("25.00"), usd("0"), PaymentStatus.COMPLETED),
        (usd("25.00"), usd("24.99"), PaymentStatus.PARTIALLY_REFUNDED),
        (usd("25.00"), usd("25.00"), PaymentStatus.REFUNDED),
        (jpy("3000"), jpy("2999"), PaymentStatus.PARTIALLY_REFUNDED),
        (jpy("3000"), jpy("3000"), PaymentStatus.REFUNDED),
    ],
)
def test_status_after_refunds(captured: Money, refunded: Money, status: PaymentStatus) -> None:
    assert status_after_refunds(captured, refunded) is status


def test_status_after_one_refund() -> None:
    assert status_after_refund(inr("999.00"), inr("0"), inr("100.00")) is (
        PaymentStatus.PARTIALLY_REFUNDED
    )
    assert status_after_refund(inr("999.00"), inr("899.00"), inr("100.00")) is (
        PaymentStatus.REFUNDED
    )
    with pytest.raises(RefundTooLargeError):
        status_after_refund(jpy("100"), jpy("50"), jpy("51"))


def test_jpy_has_no_fractions() -> None:
    assert str(validate_refund(None, jpy("3000"), jpy("0"))) == "3000 JPY"


@pytest.mark.parametrize(
    ("refunded", "pending", "status"),
    [
        ("0.00", "0.00", PaymentStatus.COMPLETED),
        ("5.00", "0.00", PaymentStatus.PARTIALLY_REFUNDED),
        ("0.00", "3.00", PaymentStatus.REFUND_PENDING),
        ("5.00", "3.00", PaymentStatus.REFUND_PENDING),
    ],
)
def test_a_failed_refund_returns_the_payment_to_where_the_others_leave_it(
    refunded: str, pending: str, status: PaymentStatus
) -> None:
    # The failed refund's own amount is not in ``pending``: its reservation is released.
    assert status_after_failed_refund(usd("20.00"), usd(refunded), usd(pending)) is status


def test_a_failed_refund_cannot_leave_a_ledger_that_overdraws() -> None:
    with pytest.raises(RefundLedgerError):
        status_after_failed_refund(usd("20.00"), usd("15.00"), usd("6.00"))
    with pytest.raises(RefundLedgerError):
        status_after_failed_refund(usd("20.00"), usd("0.00"), inr("1.00"))
