"""The docker backend: the same broker and stripe-mock as containers, via testcontainers.

Used when a Docker engine answers a ping. The containers are left running when the
command that started them exits (Ryuk, testcontainers' reaper, is disabled for them)
and are removed by ``paysim infra down`` through the ids kept in the run folder.
"""

from __future__ import annotations

import logging
import os

from paysim.config import Settings
from paysim.infra import processes
from paysim.infra.endpoints import Endpoints
from paysim.infra.probes import kafka_ready, stripe_mock_ready
from paysim.infra.state import StackState

log = logging.getLogger(__name__)

STRIPE_MOCK_IMAGE = "stripe/stripe-mock"
KAFKA_IMAGE = "apache/kafka"


def docker_engine_answers(timeout_s: float = 2.0) -> bool:
    """True if a Docker engine answers a ping (a `docker` client binary is not enough)."""
    try:
        import docker

        client = docker.from_env(timeout=int(max(timeout_s, 1)))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def start(settings: Settings) -> StackState:
    # The stack must outlive this process; `infra down` removes it by id instead.
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.container import DockerContainer

    kafka_port = processes.free_port()
    kafka = (
        DockerContainer(f"{KAFKA_IMAGE}:{settings.kafka_version}")
        .with_bind_ports(9092, kafka_port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{kafka_port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS", "5")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    mock_port = processes.free_port()
    mock = DockerContainer(f"{STRIPE_MOCK_IMAGE}:{settings.stripe_mock_version}").with_bind_ports(
        12111, mock_port
    )
    kafka.start()
    mock.start()
    state = StackState(
        endpoints=Endpoints(
            backend="docker",
            bootstrap_servers=f"127.0.0.1:{kafka_port}",
            stripe_api_base=f"http://127.0.0.1:{mock_port}",
        ),
        containers=[kafka.get_wrapped_container().id, mock.get_wrapped_container().id],
    )
    try:
        processes.wait_until(
            lambda: stripe_mock_ready(state.endpoints.stripe_api_base),
            what="stripe-mock container",
            timeout_s=settings.start_timeout_s,
        )
        processes.wait_until(
            lambda: kafka_ready(state.endpoints.bootstrap_servers),
            what="Kafka container",
            timeout_s=settings.start_timeout_s,
        )
    except BaseException:
        stop(state)
        raise
    return state


def healthy(state: StackState) -> bool:
    return kafka_ready(state.endpoints.bootstrap_servers) and stripe_mock_ready(
        state.endpoints.stripe_api_base
    )


def stop(state: StackState) -> None:
    import docker

    client = docker.from_env(timeout=30)
    try:
        for container_id in state.containers:
            try:
                client.containers.get(container_id).remove(force=True)
            except docker.errors.NotFound:
                log.info("container %s already gone", container_id[:12])
    finally:
        client.close()
