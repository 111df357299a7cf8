"""Background workers: a periodic one survives its errors and counts them; a worker that
ends while its process runs turns /healthz to 503, naming it."""

from __future__ import annotations

import threading
from uuid import uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from paysim.api.operational_routes import install_operational_routes
from paysim.bootstrap.common import ServiceProcess, Worker, periodic_worker
from paysim.services.periodic import periodic

DEADLINE_S = 10.0


def _errors(worker: str) -> float | None:
    return REGISTRY.get_sample_value("paysim_worker_errors_total", {"worker": worker})


def test_a_round_that_fails_is_counted_and_the_next_one_runs() -> None:
    name = f"test-sweeper-{uuid4().hex[:8]}"
    calls: list[int] = []
    succeeded = threading.Event()

    def sweep() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        succeeded.set()

    stop = threading.Event()
    thread = threading.Thread(target=periodic, args=(name, 0.001, sweep, stop))
    thread.start()
    try:
        assert succeeded.wait(DEADLINE_S), "no round ran after the failed one"
        assert thread.is_alive()
        assert _errors(name) == 1.0
    finally:
        stop.set()
        thread.join(DEADLINE_S)
    assert not thread.is_alive()


def test_a_worker_that_never_fails_exports_zero_errors_and_stops_when_told() -> None:
    name = f"test-sweeper-{uuid4().hex[:8]}"
    ran = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=periodic, args=(name, 0.001, ran.set, stop))
    thread.start()
    assert ran.wait(DEADLINE_S)
    assert _errors(name) == 0.0
    stop.set()
    thread.join(DEADLINE_S)
    assert not thread.is_alive()


def _app(process: ServiceProcess, refreshed: list[int]) -> TestClient:
    app = FastAPI()
    install_operational_routes(
        app, lambda: None, lambda: refreshed.append(1), dead_workers=process.dead_workers
    )
    return TestClient(app)


def test_healthz_names_a_worker_whose_thread_ended() -> None:
    stop = threading.Event()
    process = ServiceProcess(
        workers=[
            Worker("dies-at-once", lambda _stop: None),
            periodic_worker(f"test-sweeper-{uuid4().hex[:8]}", 0.001, lambda: None),
        ]
    )
    refreshed: list[int] = []
    client = _app(process, refreshed)
    assert client.get("/healthz").json()["status"] == "ok"  # nothing started yet
    threads = process.start(stop)
    try:
        threads[0].join(DEADLINE_S)
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "worker stopped", "deadWorkers": ["dies-at-once"]}
        assert threads[1].is_alive()
    finally:
        stop.set()
        process.shutdown(threads)
    # Stopping is not dying: a process shutting down is not reported.
    assert client.get("/healthz").status_code == 200


def test_metrics_refreshes_the_gauges_then_renders_the_registry() -> None:
    refreshed: list[int] = []
    client = _app(ServiceProcess(), refreshed)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "paysim_worker_errors_total" in response.text
    assert refreshed == [1]
