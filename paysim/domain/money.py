"""Money as integer minor units of an ISO 4217 currency; never a float.

The exponent table follows Stripe's rules: zero-decimal currencies (JPY, KRW, ...) have
no minor unit, a few currencies have three decimals, the rest have two.

Conversions are exact in both directions: no Decimal context (28 digits, rounding) is
involved, so a minor unit is never rounded away or invented. A decimal amount from the
wire is bounded (``paysim.domain.bounds``) before any arithmetic is done on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from paysim.domain.bounds import MAX_AMOUNT_DIGITS, MAX_AMOUNT_MINOR, MAX_AMOUNT_TEXT
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
MAX_DECIMALS = 3
"""The most decimals any supported currency has (the three-decimal ones)."""


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
        """Parse a major-unit amount of at most ``MAX_AMOUNT_MINOR`` minor units.

        Raises ``MoneyError`` (a ``ValueError``) for anything else: not a number, more
        decimals than the currency has, or beyond the bound. The bound is checked on the
        text and on the exponent before any arithmetic, so ``"1E+40000"`` costs nothing.
        """
        value = _bounded_decimal(amount)
        places = exponent(currency)
        sign, digits, exp10 = value.as_tuple()
        coefficient = int("".join(map(str, digits)))
        if coefficient == 0:
            return cls(0, currency)
        # ``adjusted`` is the power of ten of the leading digit, known without arithmetic.
        leading = value.adjusted() + places
        if leading >= MAX_AMOUNT_DIGITS:
            raise MoneyError(f"amount {amount} exceeds {_largest(currency)}")
        finer = MoneyError(f"amount {amount} has more decimals than {currency.upper()} allows")
        if leading < 0:
            raise finer
        # minor = coefficient * 10**shift; the checks above keep |shift| below 32.
        shift = int(exp10) + places
        if shift >= 0:
            minor = coefficient * 10**shift
        else:
            minor, rest = divmod(coefficient, 10**-shift)
            if rest:
                raise finer
        if minor > MAX_AMOUNT_MINOR:
            raise MoneyError(f"amount {amount} exceeds {_largest(currency)}")
        return cls(-minor if sign else minor, currency)

    def to_decimal(self) -> Decimal:
        """The major-unit amount, exact, with the currency's number of decimals."""
        sign, digits, _ = Decimal(self.minor).as_tuple()
        return Decimal((sign, digits, -exponent(self.currency)))

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


def _bounded_decimal(amount: object) -> Decimal:
    """A finite Decimal of bounded size from a wire amount, or ``MoneyError``."""
    if isinstance(amount, str):
        if len(amount) > MAX_AMOUNT_TEXT:
            raise MoneyError(f"amount text is longer than {MAX_AMOUNT_TEXT} characters")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise MoneyError(f"amount {amount!r} is not a decimal number") from None
    elif isinstance(amount, int) and not isinstance(amount, bool):
        if abs(amount) > MAX_AMOUNT_MINOR:
            raise MoneyError(f"amount {amount} exceeds {MAX_AMOUNT_MINOR} in any currency")
        value = Decimal(amount)
    elif isinstance(amount, Decimal):
        value = amount
    else:
        raise MoneyError(f"amount must be a decimal number, got {type(amount).__name__}")
    if not value.is_finite():
        raise MoneyError(f"amount {value} is not a finite number")
    if len(value.as_tuple().digits) > MAX_AMOUNT_TEXT:
        raise MoneyError(f"amount has more than {MAX_AMOUNT_TEXT} digits")
    return value


def _largest(currency: str) -> str:
    return f"the largest amount, {Money(MAX_AMOUNT_MINOR, currency)}"
