"""The notification service's HTTP API: what was sent, newest first."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import FastAPI, Query

from paysim.api.operational_routes import DeadWorkers, no_dead_workers, service_app
from paysim.domain.bounds import MAX_ID
from paysim.services.notification.notification_metrics import refresh_gauges
from paysim.services.notification.repository import DEFAULT_LIMIT, MAX_LIMIT
from paysim.services.notification.service import NotificationService


def create_app(
    service: NotificationService, *, dead_workers: DeadWorkers = no_dead_workers
) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap.notification`` does the building."""
    gauges = partial(refresh_gauges, service)
    app = service_app("paysim notification service", service.check_store, gauges, dead_workers)

    @app.get("/api/notifications")
    def list_notifications(
        order_id: Annotated[int | None, Query(alias="orderId", gt=0, le=MAX_ID)] = None,
        user_id: Annotated[int | None, Query(alias="userId", gt=0, le=MAX_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> list[dict[str, Any]]:
        found = service.notifications(order_id=order_id, user_id=user_id, limit=limit)
        return [n.view() for n in found]

    return app
