"""The delivery service's HTTP API: where an order's courier is, and how it got there."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import FastAPI

from paysim.api.operational_routes import DeadWorkers, no_dead_workers, service_app
from paysim.api.params import PathId
from paysim.errors import PaysimError
from paysim.services.delivery.delivery_metrics import refresh_gauges
from paysim.services.delivery.repository import DeliveryNotFoundError
from paysim.services.delivery.service import DeliveryDetails, DeliveryService

STATUSES: dict[type[PaysimError], int] = {DeliveryNotFoundError: 404}


def delivery_view(details: DeliveryDetails) -> dict[str, Any]:
    delivery, step = details.delivery, details.next_step
    return {
        "deliveryId": delivery.id,
        "orderId": delivery.order_id,
        "agentId": delivery.agent_id,
        "status": delivery.status.value,
        "reason": delivery.reason,
        "pickupRequestedAt": (
            delivery.pickup_requested_at.isoformat() if delivery.pickup_requested_at else None
        ),
        "createdAt": delivery.created_at.isoformat(),
        "statusChangedAt": delivery.status_changed_at.isoformat(),
        "nextStep": (
            {"status": step.next_status.value, "dueAt": step.due_at.isoformat()} if step else None
        ),
        "history": [t.view() for t in details.history],
    }


def create_app(service: DeliveryService, *, dead_workers: DeadWorkers = no_dead_workers) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap.delivery`` does the building."""
    gauges = partial(refresh_gauges, service)
    app = service_app(
        "paysim delivery service", service.check_store, gauges, dead_workers, statuses=STATUSES
    )

    @app.get("/api/deliveries/{order_id}")
    def get_delivery(order_id: PathId) -> dict[str, Any]:
        return delivery_view(service.details(order_id))

    return app
