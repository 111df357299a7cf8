"""Properties of money: conversions never lose or invent a minor unit, and any wire amount
is either an exact, bounded ``Money`` or a ``MoneyError``, decided before any arithmetic."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from paysim.api.payment_api import CreateIntentRequest
from paysim.domain.bounds import MAX_AMOUNT_MINOR
from paysim.domain.events import PaymentEvent
from paysim.domain.money import (
    SUPPORTED_CURRENCIES,
    THREE_DECIMAL,
    TWO_DECIMAL,
    ZERO_DECIMAL,
    Money,
    exponent,
)
from paysim.errors import MoneyError

currencies = st.sampled_from(sorted(SUPPORTED_CURRENCIES))
bounded_minor = st.integers(min_value=-MAX_AMOUNT_MINOR, max_value=MAX_AMOUNT_MINOR)
amounts = st.builds(Money, st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR), currencies)

# Text shaped like a number, with the digit counts and exponents an attacker would pick.
numeric_text = st.from_regex(
    r"\A[+-]?[0-9]{0,40}(\.[0-9]{0,40})?([eE][+-]?[0-9]{1,12})?\Z", fullmatch=True
)
wire_text = st.one_of(numeric_text, st.text(max_size=50))
wire_amounts: st.SearchStrategy[Any] = st.one_of(
    wire_text,
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(),
    st.booleans(),
    st.none(),
)

HOSTILE = ["1E+40000", "1e999999999999", "-1E+40000", "1E-40000", "0E+999999999999", "9" * 5000]


def test_the_currency_table_covers_zero_two_and_three_decimals() -> None:
    # The properties below draw from every currency; this pins that all three kinds exist.
    assert {exponent(c) for c in ZERO_DECIMAL} == {0}
    assert {exponent(c) for c in TWO_DECIMAL} == {2}
    assert {exponent(c) for c in THREE_DECIMAL} == {3}
    assert "jpy" in ZERO_DECIMAL


@given(minor=bounded_minor, currency=currencies)
@example(minor=MAX_AMOUNT_MINOR, currency="kwd")
@example(minor=-1, currency="jpy")
def test_minor_units_round_trip_through_decimal_and_text(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    rendered = money.to_decimal()
    assert rendered.as_tuple().exponent == -exponent(currency)
    assert Money.from_decimal(rendered, currency) == money
    assert Money.from_decimal(str(rendered), currency) == money


@given(minor=st.integers(min_value=-(10**60), max_value=10**60), currency=currencies)
@example(minor=10**30 + 1, currency="usd")  # found: the 28-digit context rounded it away
def test_rendering_is_exact_for_sums_of_any_size(minor: int, currency: str) -> None:
    # Totals (analytics revenue) are unbounded; their rendering must still be exact.
    rendered = str(Money(minor, currency).to_decimal())
    digits = rendered.lstrip("-").replace(".", "")
    assert int(digits) == abs(minor)
    assert rendered.startswith("-") == (minor < 0)


@given(minor=bounded_minor, currency=currencies, padding=st.integers(0, 12))
def test_trailing_zeros_and_exponent_forms_parse_to_the_same_money(
    minor: int, currency: str, padding: int
) -> None:
    _, digits, _ = Decimal(abs(minor)).as_tuple()
    padded = Decimal((int(minor < 0), digits + (0,) * padding, -exponent(currency) - padding))
    assert Money.from_decimal(padded, currency) == Money(minor, currency)
    scientific = f"{padded:E}"
    assert Money.from_decimal(scientific, currency) == Money(minor, currency)


@given(minor=bounded_minor, currency=currencies, digit=st.integers(1, 9))
@example(minor=100, currency="usd", digit=1)
def test_a_digit_below_the_minor_unit_is_refused_not_rounded(
    minor: int, currency: str, digit: int
) -> None:
    finer = Decimal(minor * 10 + (digit if minor >= 0 else -digit)).scaleb(-exponent(currency) - 1)
    with pytest.raises(MoneyError, match="more decimals"):
        Money.from_decimal(finer, currency)


@pytest.mark.parametrize("currency", ["usd", "jpy", "kwd"])
def test_thirty_significant_digits_are_not_rounded_into_a_valid_amount(currency: str) -> None:
    # Found: 1.00000000000000000000000000001 USD was rounded to 1.00 by the Decimal context.
    with pytest.raises(MoneyError):
        Money.from_decimal("1.00000000000000000000000000001", currency)


@given(amount=wire_amounts, currency=currencies)
@example(amount="abc", currency="usd")  # found: decimal.InvalidOperation, not a ValueError
@example(amount=True, currency="usd")  # a bool is not an amount
@example(amount=10**30, currency="jpy")
def test_any_wire_amount_is_an_exact_bounded_money_or_a_money_error(
    amount: Any, currency: str
) -> None:
    try:
        money = Money.from_decimal(amount, currency)
    except MoneyError:
        return
    assert abs(money.minor) <= MAX_AMOUNT_MINOR
    assert money.to_decimal() == Decimal(amount)


@pytest.mark.parametrize("amount", HOSTILE)
@pytest.mark.parametrize("currency", ["usd", "jpy", "kwd"])
def test_hostile_exponents_and_digit_counts_are_refused_before_arithmetic(
    amount: str, currency: str
) -> None:
    # Before the bound, "1e999999999999" tried to build an int of a trillion digits.
    if amount.startswith("0E"):
        assert Money.from_decimal(amount, currency) == Money(0, currency)
        return
    with pytest.raises(MoneyError):
        Money.from_decimal(amount, currency)
    with pytest.raises(MoneyError):
        Money.from_decimal(Decimal(amount), currency)


@given(total=st.integers(1, MAX_AMOUNT_MINOR), data=st.data(), currency=currencies)
def test_partial_refunds_split_and_sum_without_losing_a_minor_unit(
    total: int, data: st.DataObject, currency: str
) -> None:
    cuts = data.draw(st.lists(st.integers(1, total), max_size=8, unique=True).map(sorted))
    bounds = [0, *cuts, total]
    parts = [Money(b - a, currency) for a, b in itertools.pairwise(bounds)]
    # Each part goes over the wire as its decimal text and comes back.
    back = [Money.from_decimal(str(p.to_decimal()), currency) for p in parts]
    assert back == parts
    summed = sum(back, Money(0, currency))
    assert summed == Money(total, currency)
    assert sum((p.to_decimal() for p in parts), Decimal(0)) == summed.to_decimal()


@given(a=amounts, b_minor=st.integers(0, MAX_AMOUNT_MINOR))
def test_addition_and_subtraction_are_exact_inverses(a: Money, b_minor: int) -> None:
    b = Money(b_minor, a.currency)
    assert (a + b) - b == a
    assert a + b == b + a
    assert (a + b).to_decimal() == a.to_decimal() + b.to_decimal()


@given(amount=wire_amounts, currency=currencies)
@example(amount="1E+40000", currency="usd")
def test_an_event_with_any_wire_amount_validates_or_is_refused_as_invalid(
    amount: Any, currency: str
) -> None:
    record = {"eventType": "PAYMENT_COMPLETED", "orderId": 1, "currency": currency}
    try:
        event = PaymentEvent.model_validate({**record, "amount": amount})
    except ValidationError:
        return
    assert event.amount_minor is None or 0 <= event.amount_minor <= MAX_AMOUNT_MINOR


@given(amount=wire_text)
@example(amount="1E+40000")
@example(amount="99999999")
def test_the_create_intent_request_bounds_any_amount_text(amount: str) -> None:
    body = {"userId": 1, "currency": "jpy", "amount": amount}
    try:
        request = CreateIntentRequest.model_validate(body)
    except ValidationError:
        return
    money = request.money("jpy")
    assert money is not None
    assert 1 <= money.minor <= MAX_AMOUNT_MINOR


@given(money=st.builds(Money, st.integers(1, MAX_AMOUNT_MINOR), currencies))
@example(money=Money(MAX_AMOUNT_MINOR, "usd"))  # found: 8 digits with 3 decimals left 5 whole
@example(money=Money(MAX_AMOUNT_MINOR, "jpy"))
def test_the_create_intent_request_accepts_every_valid_amount(money: Money) -> None:
    for amount in (str(money.to_decimal()), money.to_decimal()):
        body = {"userId": 1, "currency": money.currency, "amount": amount}
        assert CreateIntentRequest.model_validate(body).money(money.currency) == money
    body = {"userId": 1, "currency": money.currency, "amountMinor": money.minor}
    assert CreateIntentRequest.model_validate(body).money(money.currency) == money
