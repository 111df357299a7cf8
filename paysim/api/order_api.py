"""The order service's HTTP API: the order, the customer's cancel, the restaurant's moves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field, SecretStr
from starlette.concurrency import run_in_threadpool

from paysim.api.faults_api import fault_router
from paysim.api.long_poll import DEFAULT_WAIT_MS, WaitTimeoutMs, read_until
from paysim.api.operational_routes import DeadWorkers, no_dead_workers, service_app
from paysim.api.params import ListLimit, PathId
from paysim.domain.bounds import MAX_REASON_LENGTH
from paysim.domain.order_state import RestaurantMove
from paysim.domain.status import OrderStatus
from paysim.errors import PaysimError
from paysim.services.order.repository import Order, OrderNotFoundError
from paysim.services.order.service import OrderService

STATUSES: dict[type[PaysimError], int] = {OrderNotFoundError: 404}

WaitFor = Annotated[
    list[OrderStatus] | None,
    Query(
        alias="waitFor",
        max_length=len(OrderStatus),
        description="Statuses to wait for (repeat the parameter for several): the answer "
        "comes once the order exists and is in one of them, or after timeoutMs",
    ),
]


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

    def read(order_id: int) -> dict[str, Any] | None:
        try:
            order, history = service.with_history(order_id)
        except OrderNotFoundError:
            return None
        return {**order_view(order), "history": history}

    @app.get("/api/orders/{order_id}")
    async def get_order(
        order_id: PathId, wait_for: WaitFor = None, timeout_ms: WaitTimeoutMs = DEFAULT_WAIT_MS
    ) -> dict[str, Any]:
        """The order and its history; with ``waitFor``, a long-poll: answered as soon as
        the order is in one of those statuses, else as it is after ``timeoutMs``."""
        if wait_for:
            wanted = frozenset(wait_for)
            found = await read_until(
                service.changes,
                order_id,
                lambda: read(order_id),
                lambda view: view is not None and view["status"] in wanted,
                timeout_ms,
            )
        else:
            found = await run_in_threadpool(read, order_id)
        if found is None:
            raise OrderNotFoundError(f"order {order_id} does not exist")
        return found

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
