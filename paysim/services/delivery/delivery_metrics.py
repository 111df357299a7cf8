"""The delivery service's gauges, computed from its store when /metrics is scraped."""

from __future__ import annotations

from prometheus_client import Gauge

from paysim import metrics
from paysim.services.delivery.service import DeliveryService

COURIER_STEPS_PENDING = Gauge(
    "delivery_courier_steps_pending",
    "Courier steps scheduled (timer rows) and not yet taken.",
)


def refresh_gauges(service: DeliveryService) -> None:
    backlog, pending = service.backlog()
    metrics.OUTBOX_BACKLOG.labels("delivery").set(backlog)
    COURIER_STEPS_PENDING.set(pending)
