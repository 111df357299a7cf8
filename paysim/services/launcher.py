"""``paysim up``: the services as processes beside the infrastructure, found and stopped.

Each service runs as ``python -m paysim serve <name>`` in its own session, logs to the
run folder, and is recorded in ``services.json`` so that ``paysim down`` (or the next
``up``, which reuses a healthy set) can find it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from pydantic import BaseModel, Field

from paysim.config import Settings
from paysim.infra import Endpoints, processes, state
from paysim.infra.processes import ProcessHandle

STATE_FILE = "services.json"


class ServiceUrls(BaseModel):
    """Where the running services answer."""

    payment_api: str
    stripe_emulator: str


class ServicesState(BaseModel):
    endpoints: Endpoints
    urls: ServiceUrls
    processes: list[ProcessHandle] = Field(default_factory=list)


def _state_path(settings: Settings) -> Path:
    return settings.resolved_run_dir / STATE_FILE


def _load(settings: Settings) -> ServicesState | None:
    path = _state_path(settings)
    if not path.exists():
        return None
    try:
        return ServicesState.model_validate(json.loads(path.read_text()))
    except ValueError:
        return None


def _answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _healthy(current: ServicesState) -> bool:
    return all(p.alive() for p in current.processes) and all(
        _answers(url)() for url in _health_urls(current.urls)
    )


def _health_urls(urls: ServiceUrls) -> list[str]:
    return [f"{urls.stripe_emulator}/_emulator/health", f"{urls.payment_api}/healthz"]


def _spawn(
    settings: Settings, name: str, args: list[str], env: Mapping[str, str] | None
) -> ProcessHandle:
    env = {**os.environ, **(env or {}), "PAYSIM_RUN_DIR": str(settings.resolved_run_dir)}
    logs = settings.resolved_run_dir / "services"
    return processes.spawn(
        name, [sys.executable, "-m", "paysim", "serve", name, *args], logs / f"{name}.log", env=env
    )


def up(
    settings: Settings, endpoints: Endpoints, env: Mapping[str, str] | None = None
) -> ServiceUrls:
    """Start the Stripe emulator and the payment service, or reuse the healthy ones.

    ``env`` adds settings for the service processes (``PAYSIM_STRIPE_TIMEOUT_S``, ...).
    """
    run_dir = settings.resolved_run_dir
    with state.locked(run_dir):
        current = _load(settings)
        if current is not None and current.endpoints == endpoints and _healthy(current):
            return current.urls
        if current is not None:
            _stop_all(current)
        emulator_port, payment_port = processes.free_port(), processes.free_port()
        urls = ServiceUrls(
            payment_api=f"http://127.0.0.1:{payment_port}",
            stripe_emulator=f"http://127.0.0.1:{emulator_port}",
        )
        started: list[ProcessHandle] = []
        try:
            started.append(
                _spawn(
                    settings,
                    "stripe-emulator",
                    [
                        "--stripe-mock-base",
                        endpoints.stripe_api_base,
                        "--port",
                        str(emulator_port),
                        "--webhook-url",
                        f"{urls.payment_api}/webhooks/stripe",
                    ],
                    env,
                )
            )
            started.append(
                _spawn(
                    settings,
                    "payment",
                    [
                        "--port",
                        str(payment_port),
                        "--bootstrap-servers",
                        endpoints.bootstrap_servers,
                        "--stripe-api-base",
                        urls.stripe_emulator,
                    ],
                    env,
                )
            )
            for handle, url in zip(started, _health_urls(urls), strict=True):
                processes.wait_until(
                    _answers(url),
                    what=handle.name,
                    timeout_s=settings.start_timeout_s,
                    process=handle,
                )
        except BaseException:
            for handle in started:
                processes.stop(handle)
            raise
        current = ServicesState(endpoints=endpoints, urls=urls, processes=started)
        _state_path(settings).write_text(current.model_dump_json(indent=2))
        return urls


def _stop_all(current: ServicesState) -> None:
    for handle in reversed(current.processes):
        processes.stop(handle)


def down(settings: Settings) -> bool:
    with state.locked(settings.resolved_run_dir):
        current = _load(settings)
        if current is None:
            return False
        _stop_all(current)
        _state_path(settings).unlink(missing_ok=True)
        return True
