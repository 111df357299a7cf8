"""Payment analytics, the arithmetic: what one event adds, and the rates of the totals.

Pure. The analytics service stores ``Totals`` in its tables and adds each event's
``Contribution`` once (idempotent by eventId, which is the service's business); this
module decides what an event contributes and how the plan's rates are computed:

* ``payment_success_rate`` = PAYMENT_COMPLETED / (PAYMENT_COMPLETED + PAYMENT_FAILED)
  events: the share of confirmation attempts that captured money (a payment that failed
  once and then succeeded counts one failure and one success);
* ``payment_refund_rate`` = payments refunded at least once / PAYMENT_COMPLETED events:
  a payment refunded in two parts counts once;
* revenue per currency, in minor units: the amount of every PAYMENT_COMPLETED minus the
  refund amount of every PAYMENT_REFUNDED. Never a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.money import Money


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one payment event adds to the totals."""

    event_type: PaymentEventType
    captured: Money | None = None
    refunded: Money | None = None
    refunded_payment: str | None = None
    """Names the refunded payment, so that its later partial refunds count once."""


def payment_key(event: PaymentEvent) -> str:
    """The payment an event is about: its paymentId, else (a foreign producer) its order."""
    if event.payment_id is not None:
        return f"payment-{event.payment_id}"
    return f"order-{event.order_id}"


def contribution(event: PaymentEvent) -> Contribution:
    """The counts and amounts ``event`` adds (every event is counted by its type)."""
    if event.event_type is PaymentEventType.PAYMENT_COMPLETED:
        return Contribution(event.event_type, captured=event.amount)
    if event.event_type is PaymentEventType.PAYMENT_REFUNDED:
        return Contribution(
            event.event_type,
            refunded=event.refund_amount or event.amount,
            refunded_payment=payment_key(event),
        )
    return Contribution(event.event_type)


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """Money captured and refunded in one currency."""

    captured: Money
    refunded: Money

    @property
    def net(self) -> Money:
        return self.captured - self.refunded

    def view(self) -> dict[str, str | int]:
        """Exact decimal strings (and minor units) for JSON."""
        return {
            "captured": _decimal(self.captured),
            "refunded": _decimal(self.refunded),
            "net": _decimal(self.net),
            "capturedMinor": self.captured.minor,
            "refundedMinor": self.refunded.minor,
            "netMinor": self.net.minor,
        }


def _decimal(money: Money) -> str:
    return str(money.to_decimal())


@dataclass(frozen=True, slots=True)
class Totals:
    """Everything the analytics service has counted."""

    counts: Mapping[str, int] = field(default_factory=dict)
    captured_minor: Mapping[str, int] = field(default_factory=dict)
    refunded_minor: Mapping[str, int] = field(default_factory=dict)
    refunded_payments: int = 0

    def count(self, event_type: PaymentEventType) -> int:
        return self.counts.get(event_type.value, 0)

    @property
    def events(self) -> int:
        return sum(self.counts.values())

    @property
    def success_rate(self) -> float:
        completed, failed = (
            self.count(PaymentEventType.PAYMENT_COMPLETED),
            self.count(PaymentEventType.PAYMENT_FAILED),
        )
        return completed / (completed + failed) if completed + failed else 0.0

    @property
    def refund_rate(self) -> float:
        completed = self.count(PaymentEventType.PAYMENT_COMPLETED)
        return min(1.0, self.refunded_payments / completed) if completed else 0.0

    def currencies(self) -> list[str]:
        return sorted(set(self.captured_minor) | set(self.refunded_minor))

    def in_currency(self, currency: str) -> CurrencyTotals:
        return CurrencyTotals(
            Money(self.captured_minor.get(currency, 0), currency),
            Money(self.refunded_minor.get(currency, 0), currency),
        )

    def add(self, part: Contribution, *, new_refunded_payment: bool = True) -> Totals:
        """These totals with ``part`` added (``new_refunded_payment``: not refunded before)."""
        counts = dict(self.counts)
        counts[part.event_type.value] = counts.get(part.event_type.value, 0) + 1
        return Totals(
            counts,
            _plus(self.captured_minor, part.captured),
            _plus(self.refunded_minor, part.refunded),
            self.refunded_payments
            + (1 if part.refunded_payment is not None and new_refunded_payment else 0),
        )

    def summary(self) -> dict[str, object]:
        """The JSON of ``GET /api/analytics/summary``."""
        return {
            "events": self.events,
            "counts": dict(sorted(self.counts.items())),
            "successRate": self.success_rate,
            "refundRate": self.refund_rate,
            "refundedPayments": self.refunded_payments,
            "revenue": {c: self.in_currency(c).view() for c in self.currencies()},
        }


def _plus(totals: Mapping[str, int], amount: Money | None) -> dict[str, int]:
    result = dict(totals)
    if amount is not None:
        result[amount.currency] = result.get(amount.currency, 0) + amount.minor
    return result


def fold(events: list[PaymentEvent]) -> Totals:
    """The totals of a list of distinct events (the reference the service must agree with)."""
    totals = Totals()
    refunded: set[str] = set()
    for event in events:
        part = contribution(event)
        is_new = part.refunded_payment is not None and part.refunded_payment not in refunded
        if part.refunded_payment is not None:
            refunded.add(part.refunded_payment)
        totals = totals.add(part, new_refunded_payment=is_new)
    return totals
