"""The simulated courier: which agent takes an order, and when each step of the run is due.

Pure and repeatable. Every choice is drawn from a ``random.Random`` seeded by the run's
seed and the order (and, for timings, the step), never from shared RNG state: the same
seed gives the same agent and the same delays for an order whatever else happened in
the run, in whatever order, and however often the process was restarted.

A courier run::

    ASSIGNED --(restaurant: ready for pickup)--> PICKED_UP -> IN_TRANSIT -> DELIVERED

The first step waits for the restaurant; each step after that follows the previous one
after about ``step_s`` seconds (uniform jitter of ``+-jitter * step_s``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from paysim.domain.status import DeliveryStatus

AGENT_POOL = 200
"""How many simulated couriers there are (agent ids ``agent-001`` .. ``agent-200``)."""

NEXT_STEP: Mapping[DeliveryStatus, DeliveryStatus] = {
    DeliveryStatus.ASSIGNED: DeliveryStatus.PICKED_UP,
    DeliveryStatus.PICKED_UP: DeliveryStatus.IN_TRANSIT,
    DeliveryStatus.IN_TRANSIT: DeliveryStatus.DELIVERED,
}
"""The courier's next step from each status; DELIVERED and CANCELLED have none."""


def next_step(status: DeliveryStatus) -> DeliveryStatus | None:
    """The step a courier takes after ``status``, or None once the run is over."""
    return NEXT_STEP.get(status)


@dataclass(frozen=True, slots=True)
class Timer:
    """A step that is due: move the delivery to ``next_status`` at ``due_at``."""

    next_status: DeliveryStatus
    due_at: datetime


@dataclass(frozen=True, slots=True)
class CourierSimulation:
    """Seeded choices of the simulated couriers (agents and step timings)."""

    seed: int
    step_s: float
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.step_s < 0:
            raise ValueError(f"step_s must not be negative, got {self.step_s}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")

    def _rng(self, order_id: int, what: str) -> random.Random:
        # A string seed is hashed with SHA-512 by ``random``: stable across processes,
        # unlike ``hash()``, which is salted per interpreter.
        return random.Random(f"paysim-delivery:{self.seed}:{order_id}:{what}")

    def agent_for(self, order_id: int) -> str:
        """The courier who takes ``order_id``."""
        number = self._rng(order_id, "agent").randint(1, AGENT_POOL)
        return f"agent-{number:03d}"

    def delay_s(self, order_id: int, step: DeliveryStatus) -> float:
        """Seconds before the courier of ``order_id`` reaches ``step``."""
        if self.step_s == 0:
            return 0.0
        factor = self._rng(order_id, f"step:{step.value}").uniform(1 - self.jitter, 1 + self.jitter)
        return self.step_s * factor

    def timer_after(self, order_id: int, reached: DeliveryStatus, now: datetime) -> Timer | None:
        """The next step once ``reached`` was entered at ``now``; None if the run is over.

        From ASSIGNED the next step is the pickup: call this only when the restaurant
        has the food ready (``pickup_timer``), never on assignment itself.
        """
        step = next_step(reached)
        if step is None:
            return None
        return Timer(step, now + timedelta(seconds=self.delay_s(order_id, step)))

    def pickup_timer(self, order_id: int, ready_at: datetime) -> Timer:
        """The pickup, scheduled when the restaurant reports the food ready."""
        timer = self.timer_after(order_id, DeliveryStatus.ASSIGNED, ready_at)
        assert timer is not None  # ASSIGNED always has a next step
        return timer

    def run_plan(self, order_id: int, ready_at: datetime) -> list[Timer]:
        """The whole run from a pickup request, if nothing interrupts it (for reports)."""
        plan = [self.pickup_timer(order_id, ready_at)]
        while True:
            last = plan[-1]
            following = self.timer_after(order_id, last.next_status, last.due_at)
            if following is None:
                return plan
            plan.append(following)
