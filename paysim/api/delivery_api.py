"""The delivery service's HTTP API: where an order's courier is, and how it got there."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paysim.api.errors import install
from paysim.api.params import PathId
from paysim.domain.bounds import MAX_BODY_BYTES
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
        "history": [
            {
                "from": t.from_status,
                "to": t.to_status,
                "applied": t.applied,
                "cause": t.cause,
                "eventId": t.event_id,
                "note": t.note,
                "at": t.at.isoformat(),
            }
            for t in details.history
        ],
    }


def create_app(service: DeliveryService) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap.delivery`` does the building."""
    app = FastAPI(title="paysim delivery service", version="1", max_body_size=MAX_BODY_BYTES)
    install(app, STATUSES)

    @app.get("/api/deliveries/{order_id}")
    def get_delivery(order_id: PathId) -> dict[str, Any]:
        return delivery_view(service.details(order_id))

    @app.get("/metrics")
    def get_metrics() -> Response:
        refresh_gauges(service)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        service.check_store()
        return {"status": "ok"}

    return app
