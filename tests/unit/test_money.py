from decimal import Decimal

import pytest

from paysim.domain.money import Money, exponent
from paysim.errors import MoneyError


@pytest.mark.parametrize(
    ("minor", "currency", "rendered"),
    [
        (2599, "usd", Decimal("25.99")),
        (5, "usd", Decimal("0.05")),
        (0, "usd", Decimal("0.00")),
        (49900, "INR", Decimal("499.00")),
        (1234, "inr", Decimal("12.34")),
        (1500, "jpy", Decimal("1500")),
        (1, "JPY", Decimal("1")),
        (1234, "kwd", Decimal("1.234")),
    ],
)
def test_minor_units_render_exactly(minor: int, currency: str, rendered: Decimal) -> None:
    money = Money(minor, currency)
    assert money.to_decimal() == rendered
    assert str(money.to_decimal()) == str(rendered)
    assert Money.from_decimal(rendered, currency) == money


def test_exponents() -> None:
    assert (exponent("usd"), exponent("inr"), exponent("jpy"), exponent("bhd")) == (2, 2, 0, 3)


@pytest.mark.parametrize(
    ("amount", "currency"), [("12.345", "usd"), ("1.5", "jpy"), ("NaN", "usd"), ("1.0001", "inr")]
)
def test_amounts_finer_than_the_currency_are_rejected(amount: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        Money.from_decimal(amount, currency)


def test_unknown_currency_and_float_minor_units_are_rejected() -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        Money(100, "xyz")
    with pytest.raises(MoneyError, match="must be an int"):
        Money(10.5, "usd")  # type: ignore[arg-type]


def test_arithmetic_refuses_to_mix_currencies() -> None:
    assert Money(100, "usd") + Money(50, "usd") == Money(150, "usd")
    assert Money(100, "usd") - Money(50, "usd") == Money(50, "usd")
    with pytest.raises(MoneyError, match="cannot mix"):
        _ = Money(100, "usd") + Money(100, "inr")


def test_str_shows_major_units_and_code() -> None:
    assert str(Money(2599, "usd")) == "25.99 USD"
    assert str(Money(1500, "jpy")) == "1500 JPY"
