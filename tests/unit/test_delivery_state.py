"""The delivery state machine and its events."""

from __future__ import annotations

import itertools

import pytest

from paysim.domain.delivery_state import (
    DELIVERY_EVENT_ON_ENTER,
    DELIVERY_EVENT_TARGETS,
    DELIVERY_RANK,
    apply_delivery_event,
    cancel_delivery,
    move_delivery,
)
from paysim.domain.events import DeliveryEventType
from paysim.domain.status import DeliveryStatus
from paysim.domain.transitions import IllegalTransition, Outcome

LEGAL = {
    (DeliveryStatus.ASSIGNED, DeliveryStatus.PICKED_UP),
    (DeliveryStatus.PICKED_UP, DeliveryStatus.IN_TRANSIT),
    (DeliveryStatus.IN_TRANSIT, DeliveryStatus.DELIVERED),
    (DeliveryStatus.ASSIGNED, DeliveryStatus.CANCELLED),
    (DeliveryStatus.PICKED_UP, DeliveryStatus.CANCELLED),
    (DeliveryStatus.IN_TRANSIT, DeliveryStatus.CANCELLED),
}
ALL_PAIRS = list(itertools.product(DeliveryStatus, DeliveryStatus))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_command_moves(current: DeliveryStatus, target: DeliveryStatus) -> None:
    assert move_delivery(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_command_raises_naming_both_states(
    current: DeliveryStatus, target: DeliveryStatus
) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to {target}"):
        move_delivery(current, target)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_events_never_raise_and_only_go_forward(
    current: DeliveryStatus, target: DeliveryStatus
) -> None:
    result = apply_delivery_event(current, target)
    if result.applied:
        assert DELIVERY_RANK[target] > DELIVERY_RANK[current]
        assert result.status is target
    else:
        assert result.status is current


@pytest.mark.parametrize(
    ("current", "target", "outcome"),
    [
        (DeliveryStatus.ASSIGNED, DeliveryStatus.PICKED_UP, Outcome.APPLIED),
        (
            DeliveryStatus.ASSIGNED,
            DeliveryStatus.DELIVERED,
            Outcome.APPLIED,
        ),  # PICKED_UP and IN_TRANSIT are late
        (DeliveryStatus.IN_TRANSIT, DeliveryStatus.PICKED_UP, Outcome.STALE),
        (DeliveryStatus.DELIVERED, DeliveryStatus.IN_TRANSIT, Outcome.STALE),
        (DeliveryStatus.PICKED_UP, DeliveryStatus.PICKED_UP, Outcome.DUPLICATE),
        (DeliveryStatus.CANCELLED, DeliveryStatus.DELIVERED, Outcome.CONFLICT),
        (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED, Outcome.CONFLICT),
    ],
)
def test_event_outcomes(current: DeliveryStatus, target: DeliveryStatus, outcome: Outcome) -> None:
    result = apply_delivery_event(current, target)
    assert result.outcome is outcome
    assert result.reason


@pytest.mark.parametrize(
    "current", [DeliveryStatus.ASSIGNED, DeliveryStatus.PICKED_UP, DeliveryStatus.IN_TRANSIT]
)
def test_undelivered_can_be_cancelled(current: DeliveryStatus) -> None:
    assert cancel_delivery(current) is DeliveryStatus.CANCELLED


def test_delivered_cannot_be_cancelled() -> None:
    with pytest.raises(IllegalTransition, match="DELIVERED is final"):
        cancel_delivery(DeliveryStatus.DELIVERED)


def test_event_mapping_is_one_for_one() -> None:
    assert set(DELIVERY_EVENT_ON_ENTER) == set(DeliveryStatus)
    assert set(DELIVERY_EVENT_TARGETS) == set(DeliveryEventType)
    assert (
        DELIVERY_EVENT_ON_ENTER[DeliveryStatus.IN_TRANSIT] is DeliveryEventType.DELIVERY_IN_TRANSIT
    )
    for status, event_type in DELIVERY_EVENT_ON_ENTER.items():
        assert DELIVERY_EVENT_TARGETS[event_type] is status
