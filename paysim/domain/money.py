"""Money as integer minor units of an ISO 4217 currency; never a float.

The exponent table follows Stripe's rules: zero-decimal currencies (JPY, KRW, ...) have
no minor unit, a few currencies have three decimals, the rest have two.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from paysim.errors import MoneyError

ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(
    [
        "bhd",
        "jod",
        "kwd",
        "omr",
        "tnd",
    ]
)
TWO_DECIMAL = frozenset(
    [
        "usd",
        "eur",
        "gbp",
        "inr",
        "aud",
        "cad",
        "chf",
        "cny",
        "sek",
        "nok",
        "dkk",
        "nzd",
        "sgd",
        "hkd",
        "mxn",
        "brl",
        "zar",
        "pln",
        "czk",
        "huf",
        "thb",
        "myr",
        "php",
        "idr",
        "aed",
        "sar",
        "ils",
        "try",
    ]
)
SUPPORTED_CURRENCIES = ZERO_DECIMAL | THREE_DECIMAL | TWO_DECIMAL


def normalize_currency(currency: str) -> str:
    """Lower-case ISO code, as Stripe spells it; unknown codes are rejected."""
    code = currency.strip().lower()
    if code not in SUPPORTED_CURRENCIES:
        raise MoneyError(f"unknown currency {currency!r}")
    return code


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's major unit."""
    code = normalize_currency(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``minor`` units of ``currency`` (cents for USD, yen for JPY)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(f"minor units must be an int, got {type(self.minor).__name__}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def from_decimal(cls, amount: Decimal | str | int, currency: str) -> Money:
        """Parse a major-unit amount; more decimals than the currency has is an error."""
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
        if not value.is_finite():
            raise MoneyError(f"amount {amount!r} is not a finite number")
        scaled = value.scaleb(exponent(currency))
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"amount {amount} has more decimals than {currency.upper()} allows")
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        """The major-unit amount, exact, with the currency's number of decimals."""
        exp = exponent(self.currency)
        return Decimal(self.minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor <= other.minor

    @property
    def is_positive(self) -> bool:
        return self.minor > 0

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency.upper()}"
