"""The notification service's HTTP API: what was sent, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paysim.api.errors import install
from paysim.domain.bounds import MAX_BODY_BYTES, MAX_ID
from paysim.services.notification.notification_metrics import refresh_gauges
from paysim.services.notification.repository import DEFAULT_LIMIT, MAX_LIMIT
from paysim.services.notification.service import NotificationService


def create_app(service: NotificationService) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap.notification`` does the building."""
    app = FastAPI(title="paysim notification service", version="1", max_body_size=MAX_BODY_BYTES)
    install(app)

    @app.get("/api/notifications")
    def list_notifications(
        order_id: Annotated[int | None, Query(alias="orderId", gt=0, le=MAX_ID)] = None,
        user_id: Annotated[int | None, Query(alias="userId", gt=0, le=MAX_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> list[dict[str, Any]]:
        found = service.notifications(order_id=order_id, user_id=user_id, limit=limit)
        return [n.view() for n in found]

    @app.get("/metrics")
    def get_metrics() -> Response:
        refresh_gauges(service)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        service.check_store()
        return {"status": "ok"}

    return app
