"""The order service's HTTP API: the order, the customer's cancel, the restaurant's moves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field, SecretStr

from paysim.api.faults_api import fault_router
from paysim.api.operational_routes import DeadWorkers, no_dead_workers, service_app
from paysim.api.params import ListLimit, PathId
from paysim.domain.bounds import MAX_REASON_LENGTH
from paysim.domain.order_state import RestaurantMove
from paysim.errors import PaysimError
from paysim.services.order.repository import Order, OrderNotFoundError
from paysim.services.order.service import OrderService

STATUSES: dict[type[PaysimError], int] = {OrderNotFoundError: 404}


class ReasonBody(BaseModel):
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


def order_view(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "userId": order.user_id,
        "paymentId": order.payment_id,
        "status": order.status.value,
        "totalAmount": str(order.total.to_decimal()),
        "totalAmountMinor": order.total.minor,
        "currency": order.total.currency,
        "capturedMinor": order.captured.minor,
        "refundedMinor": order.refunded.minor,
        "reason": order.reason,
        "createdAt": order.created_at.isoformat(),
        "statusChangedAt": order.status_changed_at.isoformat(),
    }


def create_app(
    service: OrderService,
    *,
    admin_token: SecretStr | None = None,
    dead_workers: DeadWorkers = no_dead_workers,
) -> FastAPI:
    """The app over a built service; ``admin_token`` opens its fault switchboard
    (``/_faults``), None leaves it off (test mode off)."""
    app = service_app(
        "paysim order service", service.check_store, dead_workers=dead_workers, statuses=STATUSES
    )
    app.include_router(fault_router(service.faults, admin_token))

    @app.get("/api/orders")
    def list_orders(
        status: Annotated[str | None, Query(max_length=32)] = None,
        limit: ListLimit = 1000,
    ) -> list[dict[str, Any]]:
        orders = service.list_orders(status.upper() if status else None, limit)
        return [order_view(order) for order in orders]

    @app.get("/api/orders/{order_id}")
    def get_order(order_id: PathId) -> dict[str, Any]:
        order, history = service.with_history(order_id)
        return {**order_view(order), "history": history}

    @app.post("/api/orders/{order_id}/cancel")
    def cancel(order_id: PathId, body: ReasonBody) -> dict[str, Any]:
        return order_view(service.cancel(order_id, body.reason or "requested_by_customer"))

    def restaurant_route(path: str, decision: RestaurantMove) -> None:
        @app.post(f"/api/orders/{{order_id}}/{path}", name=f"restaurant_{path}")
        def move(order_id: PathId, body: ReasonBody | None = None) -> dict[str, Any]:
            reason = body.reason if body else None
            return order_view(service.restaurant(order_id, decision, reason))

    restaurant_route("confirm", RestaurantMove.ACCEPT)
    restaurant_route("preparing", RestaurantMove.START_PREPARING)
    restaurant_route("ready-for-pickup", RestaurantMove.MARK_READY)
    restaurant_route("reject", RestaurantMove.REJECT)

    @app.get("/api/compensations")
    def compensations() -> list[dict[str, Any]]:
        return service.compensations()

    return app
