"""The native backend: the broker and stripe-mock as local processes, no Docker."""

from __future__ import annotations

import logging
from pathlib import Path

from paysim.config import Settings
from paysim.errors import InfraError
from paysim.infra import processes
from paysim.infra.endpoints import Endpoints
from paysim.infra.kafka_native import start_kafka
from paysim.infra.probes import kafka_ready, stripe_mock_ready
from paysim.infra.state import StackState
from paysim.infra.stripe_mock_native import start_stripe_mock

log = logging.getLogger(__name__)


def start(settings: Settings, run_dir: Path) -> StackState:
    """Start both parts and wait until each answers; stop what started if one fails."""
    with processes.all_or_none() as started:
        kafka, kafka_port = start_kafka(settings, run_dir)
        started.append(kafka)
        mock, mock_port = start_stripe_mock(settings, run_dir)
        started.append(mock)
        bootstrap = f"127.0.0.1:{kafka_port}"
        api_base = f"http://127.0.0.1:{mock_port}"
        processes.wait_until(
            lambda: stripe_mock_ready(api_base),
            what="stripe-mock",
            timeout_s=settings.start_timeout_s,
            process=mock,
        )
        processes.wait_until(
            lambda: processes.port_accepts(kafka_port) and kafka_ready(bootstrap),
            what="Kafka broker",
            timeout_s=settings.start_timeout_s,
            process=kafka,
        )
    return StackState(
        endpoints=Endpoints(
            backend="native", bootstrap_servers=bootstrap, stripe_api_base=api_base
        ),
        processes=started,
    )


def healthy(state: StackState) -> bool:
    return (
        all(p.alive() for p in state.processes)
        and kafka_ready(state.endpoints.bootstrap_servers)
        and stripe_mock_ready(state.endpoints.stripe_api_base)
    )


def stop(state: StackState) -> None:
    for handle in reversed(state.processes):
        processes.stop(handle)
    leftovers = [p.name for p in state.processes if p.alive()]
    if leftovers:
        raise InfraError(f"could not stop: {', '.join(leftovers)}")
