"""Properties of a payment under any sequence of commands, Stripe outcomes and webhooks.

``PaymentLedger`` drives one payment through the pure domain the way the payment service
does (``move_payment`` for commands, ``apply_payment_event`` for outcomes and webhooks,
``validate_refund`` and ``status_after_refunds`` for refunds), against a small model of
the intent at Stripe. Webhooks are redelivered at any time: late, twice, out of order.

"Backwards" is defined from the state machine's order: a payment's progress is the triple
(confirmation attempt, amount ever asked to be refunded, rank of its status). The only
edges that lower the rank are commands that raise one of the first two (a new attempt
after a failure, a further refund after a partial one), so progress never decreases,
and every change of status increases it.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from paysim.domain.bounds import MAX_AMOUNT_MINOR
from paysim.domain.money import SUPPORTED_CURRENCIES, Money
from paysim.domain.payment_state import (
    CAPTURED,
    PAYMENT_MACHINE,
    PAYMENT_RANK,
    REFUNDABLE,
    apply_payment_event,
    move_payment,
)
from paysim.domain.refunds import RefundError, refundable, status_after_refunds, validate_refund
from paysim.domain.status import PaymentStatus as P
from paysim.domain.transitions import IllegalTransition, Outcome

FINAL = frozenset({P.CANCELLED, P.REFUNDED})

Progress = tuple[int, int, int]


class PaymentLedger(RuleBasedStateMachine):
    """One payment, its refunds, and the intent at Stripe (open, captured or canceled)."""

    def __init__(self) -> None:
        super().__init__()
        self.status = P.PENDING
        self.attempt = 0
        self.amount = Money(1, "usd")
        self.captured = Money(0, "usd")
        self.settled = Money(0, "usd")  # refunds Stripe has paid out
        self.in_flight: list[Money] = []  # refunds asked for, not yet paid out
        self.stripe = "open"
        self.outcomes: dict[int, P] = {}  # what Stripe decided, per attempt
        self.webhooks: list[tuple[P, int | None]] = []
        self.last = self.progress()
        self.last_status = self.status

    @initialize(
        currency=st.sampled_from(sorted(SUPPORTED_CURRENCIES)),
        # Small amounts make refunds collide with the remainder often; large ones too.
        minor=st.integers(1, 5) | st.integers(1, MAX_AMOUNT_MINOR),
    )
    def create(self, currency: str, minor: int) -> None:
        self.amount = Money(minor, currency)
        self.captured = self.settled = Money(0, currency)

    # --- what moves the payment ----------------------------------------------------------

    @rule()
    def confirm(self) -> None:
        if self.status is P.PROCESSING:
            # The service asks Stripe again with the attempt's key: the same answer, if any.
            if self.attempt in self.outcomes:
                self.offer(self.outcomes[self.attempt], self.attempt)
            return
        if not PAYMENT_MACHINE.can_move(self.status, P.PROCESSING):
            with pytest.raises(IllegalTransition):
                move_payment(self.status, P.PROCESSING)
            return
        self.status = move_payment(self.status, P.PROCESSING)
        self.attempt += 1

    @precondition(lambda self: self.status is P.PROCESSING and self.stripe == "open")
    @rule(succeeds=st.booleans(), answered=st.booleans())
    def stripe_decides(self, succeeds: bool, answered: bool) -> None:
        """Stripe settles the attempt; the confirm response carries it unless it was lost."""
        if self.attempt in self.outcomes:
            return
        outcome = P.COMPLETED if succeeds else P.FAILED
        self.outcomes[self.attempt] = outcome
        if succeeds:
            self.stripe = "captured"
        self.webhooks.append((outcome, self.attempt))
        if answered:
            self.offer(outcome, self.attempt)

    @rule(chance=st.integers(0, 4))
    def cancel(self, chance: int) -> None:
        if chance:
            return  # a cancel ends most runs at once; one draw in five keeps runs long
        if not PAYMENT_MACHINE.can_move(self.status, P.CANCELLED):
            with pytest.raises(IllegalTransition):
                move_payment(self.status, P.CANCELLED)
            return
        if self.stripe == "captured":
            return  # Stripe refuses to cancel a captured intent: nothing moves
        self.stripe = "canceled"
        self.webhooks.append((P.CANCELLED, None))
        self.offer(P.CANCELLED, None)

    @precondition(lambda self: bool(self.webhooks))
    @rule(data=st.data())
    def webhook_delivered(self, data: st.DataObject) -> None:
        status, attempt = data.draw(st.sampled_from(self.webhooks))
        self.offer(status, attempt)

    @precondition(lambda self: self.status in REFUNDABLE)
    @rule(data=st.data())
    def refund_requested(self, data: st.DataObject) -> None:
        currency = self.amount.currency
        reserved = self.refunds_asked()
        remaining = (self.captured - reserved).minor
        edges = [-1, 0, 1, remaining - 1, remaining, remaining + 1]
        minor = st.sampled_from(edges) | st.integers(-2, self.amount.minor + 2)
        requested = data.draw(st.none() | minor.map(lambda m: Money(m, currency)))
        try:
            amount = validate_refund(requested, self.captured, reserved)
        except RefundError:
            if requested is None:
                assert remaining == 0
            else:
                assert not 0 < requested.minor <= remaining
            return
        assert 0 < amount.minor <= remaining
        assert requested is None or amount == requested
        self.in_flight.append(amount)
        if self.status is not P.REFUND_PENDING:
            self.status = move_payment(self.status, P.REFUND_PENDING)

    @precondition(lambda self: bool(self.in_flight))
    @rule(data=st.data())
    def refund_paid_out(self, data: st.DataObject) -> None:
        amount = self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))
        self.settled = self.settled + amount
        settled = status_after_refunds(self.captured, self.settled)
        # The service stores this status as it is: it must be a move the machine accepts.
        transition = apply_payment_event(self.status, settled)
        assert transition.outcome in (Outcome.APPLIED, Outcome.DUPLICATE), transition.reason
        self.status = settled

    # --- helpers -------------------------------------------------------------------------

    def offer(self, target: P, attempt: int | None) -> None:
        transition = apply_payment_event(
            self.status, target, event_attempt=attempt, current_attempt=self.attempt
        )
        if not transition.applied:
            assert transition.status is self.status
            return
        assert PAYMENT_MACHINE.reachable(self.status, target), transition.reason
        self.status = transition.status
        if target is P.COMPLETED:
            self.captured = self.amount

    def refunds_asked(self) -> Money:
        return sum(self.in_flight, self.settled)

    def progress(self) -> Progress:
        return (self.attempt, self.refunds_asked().minor, PAYMENT_RANK[self.status])

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def captured_covers_refunded_covers_zero(self) -> None:
        # refundable() raises unless 0 <= refunded <= captured, in one currency.
        left = refundable(self.captured, self.refunds_asked())
        assert 0 <= left.minor <= self.captured.minor
        assert self.captured.minor in (0, self.amount.minor)

    @invariant()
    def money_agrees_with_the_status(self) -> None:
        assert (self.captured.minor > 0) == (self.status in CAPTURED)
        assert (self.status is P.REFUNDED) == (
            self.captured.is_positive and self.settled == self.captured
        )
        if self.in_flight:
            assert self.status in (P.REFUND_PENDING, P.PARTIALLY_REFUNDED)

    @invariant()
    def status_never_runs_ahead_of_stripe(self) -> None:
        # Whatever the payment shows happened at Stripe, in this attempt.
        if self.status is P.FAILED:
            assert self.outcomes.get(self.attempt) is P.FAILED
        if self.status in CAPTURED:
            assert self.stripe == "captured"
        if self.status is P.CANCELLED:
            assert self.stripe == "canceled"

    @invariant()
    def never_backwards(self) -> None:
        now = self.progress()
        assert now >= self.last, f"{self.last} -> {now}"
        if self.status is not self.last_status:
            assert now > self.last, f"{self.last_status} -> {self.status} made no progress"
        if self.last_status in FINAL:
            assert self.status is self.last_status
        self.last, self.last_status = now, self.status

    def teardown(self) -> None:
        # Every webhook arrives at last, in order: the payment agrees with Stripe.
        for status, attempt in self.webhooks:
            self.offer(status, attempt)
        if self.stripe == "captured":
            assert self.status in CAPTURED
        if self.stripe == "canceled":
            assert self.status is P.CANCELLED


TestPaymentLedger = PaymentLedger.TestCase
TestPaymentLedger.settings = settings(stateful_step_count=30)


@given(
    start=st.sampled_from(list(P)),
    offers=st.lists(
        st.tuples(st.sampled_from(list(P)), st.none() | st.integers(1, 4)), max_size=12
    ),
    attempt=st.integers(1, 4),
)
def test_any_stream_of_events_never_raises_and_never_lowers_attempt_and_rank(
    start: P, offers: list[tuple[P, int | None]], attempt: int
) -> None:
    status = start
    for target, event_attempt in offers:
        transition = apply_payment_event(
            status, target, event_attempt=event_attempt, current_attempt=attempt
        )
        if transition.applied:
            newer = event_attempt is not None and event_attempt > attempt
            # Forward in rank, or the start of a newer attempt (which the caller records).
            assert PAYMENT_RANK[target] > PAYMENT_RANK[status] or newer, transition.reason
            attempt = max(attempt, event_attempt or 0)
            status = target
        else:
            assert transition.status is status
        if start in FINAL:
            assert status is start


@pytest.mark.parametrize(("current", "target"), list(itertools.product(P, P)))
def test_the_only_commands_that_lower_the_rank_start_an_attempt_or_a_refund(
    current: P, target: P
) -> None:
    if PAYMENT_MACHINE.can_move(current, target) and PAYMENT_RANK[target] < PAYMENT_RANK[current]:
        assert (current, target) in {
            (P.FAILED, P.PROCESSING),
            (P.PARTIALLY_REFUNDED, P.REFUND_PENDING),
        }
