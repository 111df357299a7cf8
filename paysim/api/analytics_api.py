"""The analytics service's HTTP API: the summary, and the gauges on /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paysim.api.errors import install
from paysim.domain.bounds import MAX_BODY_BYTES
from paysim.services.analytics.analytics_metrics import refresh_gauges
from paysim.services.analytics.service import AnalyticsService


def create_app(service: AnalyticsService) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap.analytics`` does the building."""
    app = FastAPI(title="paysim analytics service", version="1", max_body_size=MAX_BODY_BYTES)
    install(app)

    @app.get("/api/analytics/summary")
    def summary() -> dict[str, Any]:
        """Counts per event type, success and refund rates, revenue per currency.

        Amounts are exact decimal strings (``"25.99"``) with their minor units beside.
        """
        return service.totals().summary()

    @app.get("/metrics")
    def get_metrics() -> Response:
        refresh_gauges(service)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        service.totals()  # reads the store: a broken database fails the check
        return {"status": "ok"}

    return app
