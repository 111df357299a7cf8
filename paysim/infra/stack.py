"""Bring the stack up, find it, take it down: the one entry point over all backends."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from paysim.bus.admin import ensure_topics
from paysim.config import Settings
from paysim.errors import InfraError
from paysim.infra import docker_backend, native, state
from paysim.infra.endpoints import BackendName, Endpoints
from paysim.infra.probes import kafka_ready, stripe_mock_ready
from paysim.infra.selection import backend_for
from paysim.infra.state import StackState

log = logging.getLogger(__name__)


def _external(settings: Settings) -> Endpoints:
    if not (settings.bootstrap_servers and settings.stripe_api_base):
        raise InfraError("the external backend needs both addresses")
    endpoints = Endpoints(
        backend="external",
        bootstrap_servers=settings.bootstrap_servers,
        stripe_api_base=settings.stripe_api_base.rstrip("/"),
    )
    if not kafka_ready(endpoints.bootstrap_servers, timeout_s=10):
        raise InfraError(f"no Kafka broker answers at {endpoints.bootstrap_servers}")
    if not stripe_mock_ready(endpoints.stripe_api_base, timeout_s=10):
        raise InfraError(f"no stripe-mock answers at {endpoints.stripe_api_base}")
    return endpoints


def _healthy(current: StackState) -> bool:
    if current.endpoints.backend == "docker":
        return docker_backend.healthy(current)
    return native.healthy(current)


def _stop(current: StackState) -> None:
    if current.endpoints.backend == "docker":
        docker_backend.stop(current)
    else:
        native.stop(current)


def up(settings: Settings) -> Endpoints:
    """Start the stack (or reuse the healthy one already running) and create the topics."""
    backend = backend_for(settings, docker_backend.docker_engine_answers)
    if backend == "external":
        endpoints = _external(settings)
        ensure_topics(endpoints.bootstrap_servers)
        return endpoints
    run_dir = settings.resolved_run_dir
    with state.locked(run_dir):
        current = state.load(run_dir)
        if current is not None and _healthy(current):
            log.info("reusing the running %s stack", current.endpoints.backend)
            return current.endpoints
        if current is not None:
            log.warning("the recorded stack is not healthy; replacing it")
            _stop(current)
            state.clear(run_dir)
        started = (
            docker_backend.start(settings)
            if backend == "docker"
            else native.start(settings, run_dir)
        )
        state.save(run_dir, started)
    ensure_topics(started.endpoints.bootstrap_servers)
    return started.endpoints


def down(settings: Settings) -> bool:
    """Stop the recorded stack; False if there was none. Leaves no process of ours."""
    run_dir = settings.resolved_run_dir
    with state.locked(run_dir):
        current = state.load(run_dir)
        if current is None:
            return False
        _stop(current)
        state.clear(run_dir)
        return True


@dataclass(frozen=True, slots=True)
class StackStatus:
    running: bool
    healthy: bool
    backend: BackendName | None
    endpoints: Endpoints | None
    pids: dict[str, int]


def status(settings: Settings) -> StackStatus:
    current = state.load(settings.resolved_run_dir)
    if current is None:
        return StackStatus(False, False, None, None, {})
    alive = {p.name: p.pid for p in current.processes if p.alive()}
    running = bool(alive) or bool(current.containers)
    return StackStatus(
        running, _healthy(current), current.endpoints.backend, current.endpoints, alive
    )
