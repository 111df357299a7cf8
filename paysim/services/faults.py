"""Failures injected into a service on command, so retries and dead letters can be seen.

A rule names a fault point (``handle``: before a consumed event is handled,
``place-order``: when a paid order is placed, ``cancel-payment``: before the order
service asks the payment service to cancel), optionally an order, and how often it
fires. Rules live in the process; a service exposes them at ``/_faults``
(``paysim.api.faults_api``), in test mode only, to the holder of the admin token.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from paysim.errors import PermanentError, TransientError

FaultMode = Literal["transient", "permanent"]


class InjectedTransientError(TransientError):
    """A transient failure injected on purpose."""


class InjectedPermanentError(PermanentError):
    """A permanent failure injected on purpose."""


class FaultSpec(BaseModel):
    point: str = Field(examples=["handle", "place-order", "cancel-payment"])
    mode: FaultMode = "transient"
    order_id: int | None = Field(default=None, alias="orderId")
    times: int | None = Field(default=None, ge=1, description="None: until cleared")

    model_config = {"populate_by_name": True}


@dataclass
class FaultRule:
    id: int
    point: str
    mode: FaultMode
    order_id: int | None
    remaining: int | None
    fired: int = 0


class FaultPoints:
    """The rules in force; thread-safe, checked on every pass through a fault point."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, spec: FaultSpec) -> FaultRule:
        rule = FaultRule(next(self._ids), spec.point, spec.mode, spec.order_id, spec.times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def check(self, point: str, order_id: int | None) -> None:
        """Raise the injected failure if a rule for this point (and order) fires."""
        with self._lock:
            rule = next(
                (
                    r
                    for r in self._rules
                    if r.point == point
                    and r.order_id in (None, order_id)
                    and (r.remaining is None or r.remaining > 0)
                ),
                None,
            )
            if rule is None:
                return
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
        message = f"injected {rule.mode} failure at {point} (rule {rule.id}, order {order_id})"
        if rule.mode == "permanent":
            raise InjectedPermanentError(message)
        raise InjectedTransientError(message)
