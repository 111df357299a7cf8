"""``paysim up``: the services as processes beside the infrastructure, found and stopped.

Each service runs as ``python -m paysim serve <name>`` in its own session, logs to the
run folder, and is recorded in ``services.json`` so that ``paysim down`` (or the next
``up``, which reuses a healthy set) can find it. A new set gets the stack's own secrets
(:mod:`paysim.stack_secrets`) in its environment, never on its command lines.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import BaseModel, Field, SecretStr

from paysim import stack_secrets
from paysim.config import Settings
from paysim.infra import Endpoints, processes, state
from paysim.infra.processes import ProcessHandle
from paysim.stack_secrets import StackSecrets

STATE_FILE = "services.json"


class ServiceUrls(BaseModel):
    """Where the running services answer, and the token their admin APIs want."""

    stripe_emulator: str
    payment_api: str
    order_api: str
    delivery_api: str
    notification_api: str
    analytics_api: str
    admin_token: SecretStr = Field(default=SecretStr(""), exclude=True)
    """The stack's admin token, e.g. ``EmulatorAdmin(urls.stripe_emulator,
    urls.admin_token)``. Never dumped (so never in ``services.json`` or a printed list of
    URLs): it is read from the run folder's secrets file."""

    def publishing(self) -> list[str]:
        """The services that publish through an outbox."""
        return [self.payment_api, self.order_api, self.delivery_api]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """How to start one service: its name, its URL's key, and its command line."""

    name: str
    url_key: str
    health_path: str
    args: Callable[[Endpoints, ServiceUrls], list[str]]


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


def _consumer_service(name: str) -> ServiceSpec:
    key = f"{name}_api"
    return ServiceSpec(
        name,
        key,
        "/healthz",
        lambda e, u: [
            "--port",
            _port(getattr(u, key)),
            "--bootstrap-servers",
            e.bootstrap_servers,
        ],
    )


SPECS: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "stripe-emulator",
        "stripe_emulator",
        "/_emulator/health",
        lambda e, u: [
            "--stripe-mock-base",
            e.stripe_api_base,
            "--port",
            _port(u.stripe_emulator),
            "--webhook-url",
            f"{u.payment_api}/webhooks/stripe",
        ],
    ),
    ServiceSpec(
        "payment",
        "payment_api",
        "/healthz",
        lambda e, u: [
            "--port",
            _port(u.payment_api),
            "--bootstrap-servers",
            e.bootstrap_servers,
            "--stripe-api-base",
            u.stripe_emulator,
        ],
    ),
    ServiceSpec(
        "order",
        "order_api",
        "/healthz",
        lambda e, u: [
            "--port",
            _port(u.order_api),
            "--bootstrap-servers",
            e.bootstrap_servers,
            "--payment-api",
            u.payment_api,
        ],
    ),
    _consumer_service("delivery"),
    _consumer_service("notification"),
    _consumer_service("analytics"),
)


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
        current = ServicesState.model_validate(json.loads(path.read_text()))
    except ValueError:
        return None
    stack = stack_secrets.load(settings.resolved_run_dir)
    if stack is not None:
        current.urls = current.urls.model_copy(update={"admin_token": stack.admin_token})
    return current


def _answers(url: str, pid: int) -> Callable[[], bool]:
    """Whether the process ``pid`` answers healthy at ``url``: another process on that
    port (it took the port first, and ours failed to bind) does not count."""

    def check() -> bool:
        try:
            answer = httpx.get(url, timeout=2.0)
            return answer.status_code == 200 and answer.json().get("pid") == pid
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    return check


def _health_url(spec: ServiceSpec, urls: ServiceUrls) -> str:
    return f"{getattr(urls, spec.url_key)}{spec.health_path}"


def _healthy(current: ServicesState) -> bool:
    # A set whose secrets are gone cannot be driven: it is not reused.
    return (
        bool(current.urls.admin_token.get_secret_value())
        and all(p.alive() for p in current.processes)
        and all(
            _answers(_health_url(spec, current.urls), process.pid)()
            for spec, process in zip(SPECS, current.processes, strict=True)
        )
    )


def _spawn(
    settings: Settings,
    name: str,
    args: list[str],
    env: Mapping[str, str] | None,
    stack: StackSecrets,
) -> ProcessHandle:
    env = {
        **os.environ,
        **(env or {}),
        **stack.environ(),
        "PAYSIM_RUN_DIR": str(settings.resolved_run_dir),
    }
    logs = settings.resolved_run_dir / "services"
    return processes.spawn(
        name, [sys.executable, "-m", "paysim", "serve", name, *args], logs / f"{name}.log", env=env
    )


def status(settings: Settings) -> ServicesState | None:
    """The recorded services, if they are all up and answering."""
    current = _load(settings)
    return current if current is not None and _healthy(current) else None


def up(
    settings: Settings, endpoints: Endpoints, env: Mapping[str, str] | None = None
) -> ServiceUrls:
    """Start every service, or reuse the healthy set already running on these endpoints.

    ``env`` adds settings for the service processes (``PAYSIM_STRIPE_TIMEOUT_S``, ...).
    """
    with state.locked(settings.resolved_run_dir):
        current = _load(settings)
        if current is not None and current.endpoints == endpoints and _healthy(current):
            return current.urls
        if current is not None:
            _stop_all(current)
        stack = stack_secrets.issue(settings)
        urls = ServiceUrls.model_validate(
            {
                spec.url_key: f"http://127.0.0.1:{port}"
                for spec, port in zip(SPECS, processes.free_ports(len(SPECS)), strict=True)
            }
            | {"admin_token": stack.admin_token}
        )
        with processes.all_or_none() as started:
            for spec in SPECS:
                started.append(_spawn(settings, spec.name, spec.args(endpoints, urls), env, stack))
            for spec, handle in zip(SPECS, started, strict=True):
                processes.wait_until(
                    _answers(_health_url(spec, urls), handle.pid),
                    what=f"the {spec.name} service",
                    timeout_s=settings.start_timeout_s,
                    process=handle,
                )
        current = ServicesState(endpoints=endpoints, urls=urls, processes=started)
        _state_path(settings).write_text(current.model_dump_json(indent=2))
        return urls


def restart(settings: Settings, name: str, env: Mapping[str, str] | None = None) -> ProcessHandle:
    """Start one service again on its own port, e.g. after it was killed on purpose.

    Whatever is left of the old process is stopped first; the new one is recorded in its
    place, so ``down`` stops it.
    """
    with state.locked(settings.resolved_run_dir):
        current = _load(settings)
        if current is None:
            raise LookupError("no services are recorded; run `paysim up` first")
        stack = stack_secrets.load(settings.resolved_run_dir)
        if stack is None:
            raise LookupError("the stack's secrets are gone; run `paysim down`, then `up`")
        index, spec = next((i, s) for i, s in enumerate(SPECS) if s.name == name)
        processes.stop(current.processes[index])
        handle = _spawn(settings, name, spec.args(current.endpoints, current.urls), env, stack)
        processes.wait_until(
            _answers(_health_url(spec, current.urls), handle.pid),
            what=f"the {name} service",
            timeout_s=settings.start_timeout_s,
            process=handle,
        )
        current.processes[index] = handle
        _state_path(settings).write_text(current.model_dump_json(indent=2))
        return handle


def process_of(settings: Settings, name: str) -> ProcessHandle:
    """The running process of one service (for fault injection: SIGKILL, SIGSTOP)."""
    current = _load(settings)
    if current is None:
        raise LookupError("no services are recorded; run `paysim up` first")
    return next(p for p in current.processes if p.name == name)


def _stop_all(current: ServicesState) -> None:
    # Consumers first, the emulator last: in-flight work can still reach Stripe.
    for handle in reversed(current.processes):
        processes.stop(handle)


def down(settings: Settings) -> bool:
    with state.locked(settings.resolved_run_dir):
        current = _load(settings)
        if current is None:
            return False
        _stop_all(current)
        _state_path(settings).unlink(missing_ok=True)
        stack_secrets.discard(settings.resolved_run_dir)
        # The broker's data goes with the stack; databases that point into it would
        # only mislead the next run. Logs stay, for reading after the fact.
        for database in (settings.resolved_run_dir / "services").glob("*.db*"):
            database.unlink(missing_ok=True)
        return True
