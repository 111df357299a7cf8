"""Which backend runs the stack: forced by ``PAYSIM_INFRA``, else Docker if it answers."""

from __future__ import annotations

from collections.abc import Callable

from paysim.config import InfraChoice, Settings
from paysim.errors import InfraError
from paysim.infra.endpoints import BackendName


def choose_backend(
    requested: InfraChoice, docker_answers: Callable[[], bool], *, external_given: bool = False
) -> BackendName:
    """Resolve ``auto``; a forced ``docker`` without an engine is an error, not a fallback."""
    if requested == "external":
        if not external_given:
            raise InfraError(
                "PAYSIM_INFRA=external needs PAYSIM_BOOTSTRAP_SERVERS and PAYSIM_STRIPE_API_BASE"
            )
        return "external"
    if requested == "native":
        return "native"
    if requested == "docker":
        if not docker_answers():
            raise InfraError(
                "PAYSIM_INFRA=docker, but no Docker engine answers a ping "
                "(a `docker` client on the PATH is not an engine); use PAYSIM_INFRA=native"
            )
        return "docker"
    return "docker" if docker_answers() else "native"


def backend_for(settings: Settings, docker_answers: Callable[[], bool]) -> BackendName:
    return choose_backend(
        settings.infra,
        docker_answers,
        external_given=bool(settings.bootstrap_servers and settings.stripe_api_base),
    )
