"""The routes every service's app serves beside its own: ``/metrics`` and ``/healthz``.

``/metrics`` refreshes the service's gauges from its store, then renders the process's
Prometheus registry. ``/healthz`` answers 200 when the store can be read and every
background worker of the process is still running; a worker whose thread ended makes
it 503, naming the worker, so a supervisor sees a service that only half runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

DeadWorkers = Callable[[], Sequence[str]]
"""Names the process's background workers that stopped while it still runs."""


def no_dead_workers() -> Sequence[str]:
    """For an app served without workers (or whose workers are not watched)."""
    return ()


def install_operational_routes(
    app: FastAPI,
    health_check: Callable[[], object],
    refresh_gauges: Callable[[], object] | None = None,
    dead_workers: DeadWorkers = no_dead_workers,
) -> None:
    """``health_check`` reads the store (raising if it cannot); ``refresh_gauges`` sets
    the service's gauges before each scrape."""

    @app.get("/metrics")
    def get_metrics() -> Response:
        if refresh_gauges is not None:
            refresh_gauges()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        health_check()
        dead = list(dead_workers())
        if dead:
            return JSONResponse({"status": "worker stopped", "deadWorkers": dead}, 503)
        return JSONResponse({"status": "ok"})
