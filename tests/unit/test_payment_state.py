"""The payment state machine: commands over the full table, events applied or ignored."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from paysim.domain.events import PaymentEventType
from paysim.domain.payment_state import (
    PAYMENT_EVENT_ON_ENTER,
    PAYMENT_RANK,
    apply_payment_event,
    move_payment,
)
from paysim.domain.status import PaymentStatus
from paysim.domain.transitions import IllegalTransition, Outcome, StateMachine, Transition
from paysim.errors import PermanentError

# Written out here, not read from the module, so that a change to the table fails a test.
LEGAL = {
    (PaymentStatus.PENDING, PaymentStatus.PROCESSING),
    (PaymentStatus.PENDING, PaymentStatus.CANCELLED),
    (PaymentStatus.PROCESSING, PaymentStatus.COMPLETED),
    (PaymentStatus.PROCESSING, PaymentStatus.FAILED),
    (PaymentStatus.PROCESSING, PaymentStatus.CANCELLED),
    (PaymentStatus.FAILED, PaymentStatus.PROCESSING),
    (PaymentStatus.FAILED, PaymentStatus.CANCELLED),
    (PaymentStatus.COMPLETED, PaymentStatus.REFUND_PENDING),
    (PaymentStatus.REFUND_PENDING, PaymentStatus.PARTIALLY_REFUNDED),
    (PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED),
    (PaymentStatus.REFUND_PENDING, PaymentStatus.COMPLETED),  # the refund failed for good
    (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUND_PENDING),
}
ALL_PAIRS = list(itertools.product(PaymentStatus, PaymentStatus))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_command_moves(current: PaymentStatus, target: PaymentStatus) -> None:
    assert move_payment(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_command_raises_naming_both_states(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    with pytest.raises(IllegalTransition) as info:
        move_payment(current, target)
    message = str(info.value)
    assert f"from {current} to {target}" in message
    assert info.value.current is current
    assert info.value.target is target


def test_illegal_transition_is_permanent_and_explains() -> None:
    with pytest.raises(PermanentError, match=r"REFUNDED is final"):
        move_payment(PaymentStatus.REFUNDED, PaymentStatus.PENDING)
    with pytest.raises(IllegalTransition, match=r"allowed from COMPLETED: REFUND_PENDING"):
        move_payment(PaymentStatus.COMPLETED, PaymentStatus.PENDING)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_events_never_raise_and_only_go_forward(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    result = apply_payment_event(current, target)
    assert result.previous is current
    if result.applied:
        assert result.status is target
        assert PAYMENT_RANK[target] > PAYMENT_RANK[current]
    else:
        assert result.status is current
        assert result.reason


@pytest.mark.parametrize(
    ("current", "target"),
    [pair for pair in sorted(LEGAL) if PAYMENT_RANK[pair[1]] > PAYMENT_RANK[pair[0]]],
)
def test_forward_legal_moves_are_applied_from_events(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    result = apply_payment_event(current, target)
    assert result == Transition(Outcome.APPLIED, target, current, f"{current} -> {target}")


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_duplicate_event_is_ignored(status: PaymentStatus) -> None:
    result = apply_payment_event(status, status)
    assert result.outcome is Outcome.DUPLICATE
    assert not result.applied
    assert f"already {status}" in result.reason


@pytest.mark.parametrize(
    ("current", "late"),
    [
        (PaymentStatus.PROCESSING, PaymentStatus.PENDING),
        (PaymentStatus.COMPLETED, PaymentStatus.PROCESSING),
        (PaymentStatus.COMPLETED, PaymentStatus.PENDING),
        (PaymentStatus.FAILED, PaymentStatus.PROCESSING),  # a late PROCESSING of the failed attempt
        (PaymentStatus.REFUNDED, PaymentStatus.REFUND_PENDING),
        (PaymentStatus.REFUNDED, PaymentStatus.COMPLETED),
        (PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUND_PENDING),
        (PaymentStatus.CANCELLED, PaymentStatus.FAILED),
    ],
)
def test_stale_event_is_ignored_with_reason(current: PaymentStatus, late: PaymentStatus) -> None:
    result = apply_payment_event(current, late)
    assert result.outcome is Outcome.STALE
    assert result.status is current
    assert result.reason == f"stale: {late} is behind {current}"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (PaymentStatus.PENDING, PaymentStatus.COMPLETED),
        (PaymentStatus.PENDING, PaymentStatus.FAILED),
        (PaymentStatus.COMPLETED, PaymentStatus.REFUNDED),
    ],
)
def test_event_may_skip_statuses_whose_events_are_late(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    result = apply_payment_event(current, target)
    assert result.applied
    assert result.status is target
    assert "skipping" in result.reason


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (PaymentStatus.CANCELLED, PaymentStatus.COMPLETED),
        (PaymentStatus.COMPLETED, PaymentStatus.CANCELLED),
        (PaymentStatus.CANCELLED, PaymentStatus.REFUNDED),
    ],
)
def test_event_on_another_branch_is_a_conflict(
    current: PaymentStatus, target: PaymentStatus
) -> None:
    result = apply_payment_event(current, target)
    assert result.outcome is Outcome.CONFLICT
    assert result.status is current
    assert f"cannot reach {target} from {current}" in result.reason


def test_completion_after_failure_is_applied_as_a_retry_that_succeeded() -> None:
    result = apply_payment_event(PaymentStatus.FAILED, PaymentStatus.COMPLETED)
    assert result.applied
    assert result.status is PaymentStatus.COMPLETED


def test_new_attempt_restarts_a_failed_payment() -> None:
    result = apply_payment_event(
        PaymentStatus.FAILED, PaymentStatus.PROCESSING, event_attempt=2, current_attempt=1
    )
    assert result.applied
    assert result.status is PaymentStatus.PROCESSING
    assert "attempt 2" in result.reason


def test_new_attempt_failing_again_is_applied() -> None:
    result = apply_payment_event(
        PaymentStatus.FAILED, PaymentStatus.FAILED, event_attempt=2, current_attempt=1
    )
    assert result.applied
    assert result.status is PaymentStatus.FAILED


def test_event_of_an_older_attempt_is_stale() -> None:
    result = apply_payment_event(
        PaymentStatus.PROCESSING, PaymentStatus.FAILED, event_attempt=1, current_attempt=2
    )
    assert result.outcome is Outcome.STALE
    assert result.status is PaymentStatus.PROCESSING
    assert "attempt 1" in result.reason


def test_without_attempts_a_late_failure_cannot_be_told_apart() -> None:
    # Documented limitation: callers that know attempts must pass them.
    assert apply_payment_event(PaymentStatus.PROCESSING, PaymentStatus.FAILED).applied


def test_a_refund_failure_returns_the_payment_by_command_never_by_event() -> None:
    pending, completed = PaymentStatus.REFUND_PENDING, PaymentStatus.COMPLETED
    assert move_payment(pending, completed) is completed
    # A late COMPLETED event (the payment's own, from before the refund) is stale.
    late = apply_payment_event(pending, completed)
    assert (late.outcome, late.status) == (Outcome.STALE, pending)


def test_same_attempt_falls_back_to_ranks() -> None:
    result = apply_payment_event(
        PaymentStatus.FAILED, PaymentStatus.PROCESSING, event_attempt=1, current_attempt=1
    )
    assert result.outcome is Outcome.STALE


def test_transition_is_frozen() -> None:
    result = apply_payment_event(PaymentStatus.PENDING, PaymentStatus.PROCESSING)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = PaymentStatus.FAILED  # type: ignore[misc]


def test_every_status_publishes_an_event_on_entering() -> None:
    assert set(PAYMENT_EVENT_ON_ENTER) == set(PaymentStatus)
    assert (
        PAYMENT_EVENT_ON_ENTER[PaymentStatus.REFUND_PENDING]
        is PaymentEventType.PAYMENT_REFUND_INITIATED
    )
    assert (
        PAYMENT_EVENT_ON_ENTER[PaymentStatus.PARTIALLY_REFUNDED]
        is PaymentEventType.PAYMENT_REFUNDED
    )


def test_machine_rejects_inconsistent_tables() -> None:
    with pytest.raises(ValueError, match="same statuses"):
        StateMachine(
            "broken",
            {PaymentStatus.PENDING: frozenset({PaymentStatus.PROCESSING})},
            {PaymentStatus.PENDING: 0},
        )
    with pytest.raises(ValueError, match="not a move"):
        StateMachine(
            "broken",
            {PaymentStatus.PENDING: frozenset(), PaymentStatus.PROCESSING: frozenset()},
            {PaymentStatus.PENDING: 0, PaymentStatus.PROCESSING: 1},
            restarts={PaymentStatus.PROCESSING: PaymentStatus.PENDING},
        )
