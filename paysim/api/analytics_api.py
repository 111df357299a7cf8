"""The analytics service's HTTP API: the summary, and the gauges on /metrics."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import FastAPI

from paysim.api.operational_routes import DeadWorkers, no_dead_workers, service_app
from paysim.services.analytics.analytics_metrics import refresh_gauges
from paysim.services.analytics.service import AnalyticsService


def create_app(
    service: AnalyticsService, *, dead_workers: DeadWorkers = no_dead_workers
) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap.analytics`` does the building."""
    gauges = partial(refresh_gauges, service)
    app = service_app("paysim analytics service", service.check_store, gauges, dead_workers)

    @app.get("/api/analytics/summary")
    def summary() -> dict[str, Any]:
        """Counts per event type, success and refund rates, revenue per currency.

        Amounts are exact decimal strings (``"25.99"``) with their minor units beside.
        """
        return service.totals().summary()

    return app
