"""The run invariants of DESIGN.md, as pure checks over plain records.

Each check returns a ``Verdict`` (name, ok, violations naming the ids at fault) that a
report can print. The records are snapshots the caller assembles from the services'
stores and Stripe; nothing here reads them itself.

Agreement between an order's status and its payment's, for a drained system (mid-run,
lag between services shows up as disagreement)::

    PAYMENT_PENDING                     PENDING, PROCESSING
    PAYMENT_FAILED                      FAILED
    PENDING ... OUT_FOR_DELIVERY        COMPLETED, PARTIALLY_REFUNDED
    DELIVERED                           COMPLETED, PARTIALLY_REFUNDED, REFUNDED
    CANCELLING                          COMPLETED, REFUND_PENDING, PARTIALLY_REFUNDED
    REFUNDED                            REFUNDED
    REFUND_FAILED                       COMPLETED, REFUND_PENDING, PARTIALLY_REFUNDED
    CANCELLED                           CANCELLED, FAILED, REFUNDED

A delivered order may be refunded afterwards (a complaint), so DELIVERED accepts refunds;
an order that is CANCELLED was never paid, so its payment is cancelled or failed.

REFUND_FAILED agrees with its payment (the payment still holds the money, which is the
truth) and is at rest (nothing in paysim will move it), but it is never a pass: the
saga's refund was refused for good and an operator must act. ``no_refund_left_to_an_operator``
names each such order, and ``captured_payments_settled`` names the money it keeps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from paysim.domain.money import Money
from paysim.domain.order_state import PAID_UNDELIVERED
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.errors import MoneyError

STATUS_AGREEMENT: Mapping[OrderStatus, frozenset[PaymentStatus]] = {
    OrderStatus.PAYMENT_PENDING: frozenset({PaymentStatus.PENDING, PaymentStatus.PROCESSING}),
    OrderStatus.PAYMENT_FAILED: frozenset({PaymentStatus.FAILED}),
    **{
        s: frozenset({PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED})
        for s in PAID_UNDELIVERED
    },
    OrderStatus.DELIVERED: frozenset(
        {PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
    ),
    OrderStatus.CANCELLING: frozenset(
        {PaymentStatus.COMPLETED, PaymentStatus.REFUND_PENDING, PaymentStatus.PARTIALLY_REFUNDED}
    ),
    OrderStatus.REFUNDED: frozenset({PaymentStatus.REFUNDED}),
    OrderStatus.REFUND_FAILED: frozenset(
        {PaymentStatus.COMPLETED, PaymentStatus.REFUND_PENDING, PaymentStatus.PARTIALLY_REFUNDED}
    ),
    # REFUNDED too: a cancel of an unpaid order can race the payment's completion; the
    # saga then refunds the capture and the order stays CANCELLED, money returned.
    OrderStatus.CANCELLED: frozenset(
        {PaymentStatus.CANCELLED, PaymentStatus.FAILED, PaymentStatus.REFUNDED}
    ),
}

ORDER_AT_REST = frozenset(
    {
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
        OrderStatus.PAYMENT_FAILED,
        # At rest, not settled: reported by ``no_refund_left_to_an_operator``.
        OrderStatus.REFUND_FAILED,
    }
)
PAYMENT_AT_REST = frozenset(
    {
        PaymentStatus.COMPLETED,
        PaymentStatus.FAILED,
        PaymentStatus.CANCELLED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    }
)
# While a run is still going, a captured payment may be on its way to a placed order or
# to a refund; only once drained must it have arrived.
_ON_ITS_WAY = PAID_UNDELIVERED | {
    OrderStatus.PAYMENT_PENDING,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.CANCELLING,
}


@dataclass(frozen=True, slots=True)
class Charge:
    """Money captured from the customer, as Stripe reports it (one per successful charge)."""

    charge_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Refund:
    """Money given back, succeeded or in flight."""

    refund_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A payment with the charges and refunds recorded against it."""

    payment_id: int
    order_id: int
    status: PaymentStatus
    currency: str
    charges: tuple[Charge, ...] = ()
    refunds: tuple[Refund, ...] = ()

    def __post_init__(self) -> None:
        currency = Money(0, self.currency).currency
        object.__setattr__(self, "currency", currency)
        # Fail where the record is built: a total across currencies means nothing.
        for amount in [c.amount for c in self.charges] + [r.amount for r in self.refunds]:
            if amount.currency != currency:
                raise MoneyError(f"payment {self.payment_id} in {currency} records {amount}")

    def _total(self, amounts: Iterable[tuple[str, Money]]) -> Money:
        # Keyed by Stripe id: the same charge or refund recorded twice is counted once.
        unique = dict(amounts)
        return sum(unique.values(), Money(0, self.currency))

    @property
    def captured(self) -> Money:
        return self._total((c.charge_id, c.amount) for c in self.charges)

    @property
    def refunded(self) -> Money:
        return self._total((r.refund_id, r.amount) for r in self.refunds)


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order's status next to the status of the payment it points at."""

    order_id: int
    status: OrderStatus
    payment_id: int | None
    payment_status: PaymentStatus | None


@dataclass(frozen=True, slots=True)
class InFlight:
    """Work not yet done: unpublished outbox rows, consumer lag, open dead letters, ..."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class Violation:
    """One breach of an invariant, naming what is at fault."""

    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """An invariant's result: ok when it has no violations."""

    name: str
    violations: tuple[Violation, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        if self.ok:
            return f"PASS {self.name}"
        return "\n".join([f"FAIL {self.name}", *(f"  {v}" for v in self.violations)])


def no_double_charge(payments: Sequence[PaymentRecord]) -> Verdict:
    """No payment captured twice, and no order paid for by two payments kept."""
    found: list[Violation] = []
    keeping: dict[int, list[int]] = defaultdict(list)
    for p in payments:
        charge_ids = {c.charge_id for c in p.charges}
        if len(charge_ids) > 1:
            found.append(Violation(f"payment {p.payment_id}", f"charged {len(charge_ids)} times"))
        if p.refunded < p.captured:
            keeping[p.order_id].append(p.payment_id)
    for order_id, payment_ids in sorted(keeping.items()):
        if len(payment_ids) > 1:
            ids = ", ".join(str(i) for i in sorted(payment_ids))
            found.append(Violation(f"order {order_id}", f"paid for by payments {ids}"))
    return Verdict("no payment charged twice", tuple(found))


def refunds_within_captures(payments: Sequence[PaymentRecord]) -> Verdict:
    """No payment refunded more than was captured from it."""
    found = [
        Violation(f"payment {p.payment_id}", f"refunded {p.refunded} of {p.captured} captured")
        for p in payments
        if p.captured < p.refunded
    ]
    return Verdict("refunds never exceed captures", tuple(found))


def captured_payments_settled(
    payments: Sequence[PaymentRecord], orders: Sequence[OrderRecord], *, drained: bool
) -> Verdict:
    """Every captured payment ends in a delivered order or a full refund.

    Before the run drains, an order still on its way (paid, pending, cancelling) or a
    refund in flight counts as settling.
    """
    status_of = {o.order_id: o.status for o in orders}
    found: list[Violation] = []
    for p in payments:
        kept = p.captured - p.refunded
        if not kept.is_positive:
            continue
        order = status_of.get(p.order_id)
        if order is OrderStatus.DELIVERED:
            continue
        if not drained and (order in _ON_ITS_WAY or p.status is PaymentStatus.REFUND_PENDING):
            continue
        where = "no order" if order is None else f"order {p.order_id} is {order}"
        found.append(Violation(f"payment {p.payment_id}", f"keeps {kept} but {where}"))
    return Verdict("every captured payment ends in an order or a refund", tuple(found))


def statuses_agree(orders: Sequence[OrderRecord]) -> Verdict:
    """Every order's status agrees with its payment's (see ``STATUS_AGREEMENT``)."""
    found: list[Violation] = []
    for o in orders:
        if o.payment_status is None:
            found.append(Violation(f"order {o.order_id}", f"is {o.status} with no payment"))
        elif o.payment_status not in STATUS_AGREEMENT[o.status]:
            found.append(
                Violation(
                    f"order {o.order_id}",
                    f"is {o.status} but payment {o.payment_id} is {o.payment_status}",
                )
            )
    return Verdict("every order agrees with its payment", tuple(found))


def no_refund_left_to_an_operator(orders: Sequence[OrderRecord]) -> Verdict:
    """No order whose refund Stripe refused for good (REFUND_FAILED): its money is still
    captured, and only an operator can give it back."""
    found = [
        Violation(
            f"order {o.order_id}",
            f"refund failed for good; payment {o.payment_id} is {o.payment_status} and keeps "
            "the money: an operator must refund it",
        )
        for o in orders
        if o.status is OrderStatus.REFUND_FAILED
    ]
    return Verdict("no refund left to an operator", tuple(found))


def nothing_in_flight(
    in_flight: Sequence[InFlight],
    orders: Sequence[OrderRecord] = (),
    payments: Sequence[PaymentRecord] = (),
) -> Verdict:
    """Once drained: no pending work, and every order and payment at rest."""
    found = [Violation(f.name, f"{f.count} in flight") for f in in_flight if f.count > 0]
    found += [
        Violation(f"order {o.order_id}", f"still {o.status}")
        for o in orders
        if o.status not in ORDER_AT_REST
    ]
    found += [
        Violation(f"payment {p.payment_id}", f"still {p.status}")
        for p in payments
        if p.status not in PAYMENT_AT_REST
    ]
    return Verdict("nothing left in flight once drained", tuple(found))


def check_run(
    payments: Sequence[PaymentRecord],
    orders: Sequence[OrderRecord],
    in_flight: Sequence[InFlight] = (),
    *,
    drained: bool,
) -> list[Verdict]:
    """Every invariant; agreement and in-flight are only meaningful once drained."""
    verdicts = [
        no_double_charge(payments),
        captured_payments_settled(payments, orders, drained=drained),
        refunds_within_captures(payments),
        no_refund_left_to_an_operator(orders),
    ]
    if drained:
        verdicts += [statuses_agree(orders), nothing_in_flight(in_flight, orders, payments)]
    return verdicts
