"""The timer loop that moves courier runs forward: one step per due timer.

Timers are rows (``delivery_timers``), so this loop keeps no state of its own: stopped
and started again, in this process or another on the same database, it finds every
due step and takes it. A step is taken in one unit of work (state, outbox, next timer),
so a crash mid-step takes it again from the start, never half.
"""

from __future__ import annotations

import threading

from paysim.services.delivery.service import DeliveryService
from paysim.services.periodic import periodic

WORKER = "delivery-courier-timers"

BATCH = 100
"""Timers taken per round; a full round is followed at once by the next."""


def poll_interval_s(step_s: float) -> float:
    """How often to look for due timers: a small part of a step, within sane bounds."""
    return min(0.1, max(0.01, step_s / 10))


def run_timers(service: DeliveryService, stop: threading.Event, poll_s: float) -> None:
    """Take due courier steps until ``stop`` is set."""

    def take_due_steps() -> None:
        while service.advance_due(BATCH) >= BATCH and not stop.is_set():
            pass  # a full batch: more may be due already

    periodic(WORKER, poll_s, take_due_steps, stop)
