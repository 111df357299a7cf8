"""The delivery state machine (rules for commands and events as in ``payment_state``).

Moves::

    ASSIGNED -> PICKED_UP -> IN_TRANSIT -> DELIVERED
    ASSIGNED | PICKED_UP | IN_TRANSIT -> CANCELLED

A delivery has one courier run and no retry: a new courier is a new delivery.
DELIVERED and CANCELLED share the top rank, so whichever lands first stays and the other
is reported as a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping

from paysim.domain.events import DeliveryEventType
from paysim.domain.status import DeliveryStatus
from paysim.domain.transitions import StateMachine, Transition

DELIVERY_MOVES: Mapping[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.ASSIGNED: frozenset({DeliveryStatus.PICKED_UP, DeliveryStatus.CANCELLED}),
    DeliveryStatus.PICKED_UP: frozenset({DeliveryStatus.IN_TRANSIT, DeliveryStatus.CANCELLED}),
    DeliveryStatus.IN_TRANSIT: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.CANCELLED: frozenset(),
}

DELIVERY_RANK: Mapping[DeliveryStatus, int] = {
    DeliveryStatus.ASSIGNED: 0,
    DeliveryStatus.PICKED_UP: 1,
    DeliveryStatus.IN_TRANSIT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.CANCELLED: 3,
}

DELIVERY_MACHINE: StateMachine[DeliveryStatus] = StateMachine(
    "delivery", DELIVERY_MOVES, DELIVERY_RANK
)

DELIVERY_EVENT_ON_ENTER: Mapping[DeliveryStatus, DeliveryEventType] = {
    DeliveryStatus.ASSIGNED: DeliveryEventType.DELIVERY_ASSIGNED,
    DeliveryStatus.PICKED_UP: DeliveryEventType.DELIVERY_PICKED_UP,
    DeliveryStatus.IN_TRANSIT: DeliveryEventType.DELIVERY_IN_TRANSIT,
    DeliveryStatus.DELIVERED: DeliveryEventType.DELIVERY_DELIVERED,
    DeliveryStatus.CANCELLED: DeliveryEventType.DELIVERY_CANCELLED,
}
"""The event a delivery publishes on entering each status (one for one)."""

DELIVERY_EVENT_TARGETS: Mapping[DeliveryEventType, DeliveryStatus] = {
    event_type: status for status, event_type in DELIVERY_EVENT_ON_ENTER.items()
}
"""The status a delivery event reports, for consumers that track deliveries."""


def move_delivery(current: DeliveryStatus, target: DeliveryStatus) -> DeliveryStatus:
    """A commanded move: the new status, or ``IllegalTransition``."""
    return DELIVERY_MACHINE.move(current, target)


def apply_delivery_event(
    current: DeliveryStatus, target: DeliveryStatus
) -> Transition[DeliveryStatus]:
    """An event's status: applied if forward, else ignored with a reason."""
    return DELIVERY_MACHINE.offer(current, target)


def cancel_delivery(current: DeliveryStatus) -> DeliveryStatus:
    """Cancel a delivery that has not been delivered, or raise ``IllegalTransition``."""
    return move_delivery(current, DeliveryStatus.CANCELLED)


def pickup_refusal(current: DeliveryStatus, pickup_requested: bool) -> str | None:
    """Why a pickup request is ignored, or None: a courier run starts once, from ASSIGNED."""
    if pickup_requested:
        return "pickup already requested"
    if current is not DeliveryStatus.ASSIGNED:
        return f"the delivery is {current}"
    return None
