"""What every service's app has beside its own routes: paysim errors answered as JSON,
``/metrics`` and ``/healthz``, a request body of at most ``MAX_BODY_BYTES`` (413 past
it); ``service_app`` makes an app with all of them.

``/metrics`` refreshes the service's gauges from its store, then renders the process's
Prometheus registry. ``/healthz`` answers 200 when the store can be read and every
background worker of the process is still running; a worker whose thread ended makes
it 503, naming the worker, so a supervisor sees a service that only half runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paysim.api.errors import install
from paysim.domain.bounds import MAX_BODY_BYTES
from paysim.errors import PaysimError

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
        # The pid tells a launcher it reached the process it started, not another one.
        return JSONResponse({"status": "ok", "pid": os.getpid()})


def service_app(
    title: str,
    health_check: Callable[[], object],
    refresh_gauges: Callable[[], object] | None = None,
    dead_workers: DeadWorkers = no_dead_workers,
    *,
    statuses: Mapping[type[PaysimError], int] | None = None,
) -> FastAPI:
    """A service's app, ready for its own routes; ``statuses``: its own errors' codes."""
    app = FastAPI(title=title, version="1", max_body_size=MAX_BODY_BYTES)
    install(app, statuses)
    install_operational_routes(app, health_check, refresh_gauges, dead_workers)
    return app
