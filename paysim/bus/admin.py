"""Topic administration against the real broker: create the catalog, read it back."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from paysim.errors import InfraError
from paysim.topics import CATALOG, Topic

log = logging.getLogger(__name__)

ADMIN_TIMEOUT_S = 30.0


def admin_client(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers})


def ensure_topics(bootstrap_servers: str, topics: Iterable[Topic] = CATALOG) -> list[str]:
    """Create every missing topic of the catalog; returns the names it created."""
    admin = admin_client(bootstrap_servers)
    wanted = list(topics)
    existing = set(admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics)
    missing = [t for t in wanted if t.name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [
            NewTopic(t.name, num_partitions=t.partitions, replication_factor=t.replicas)
            for t in missing
        ],
        operation_timeout=ADMIN_TIMEOUT_S,
        request_timeout=ADMIN_TIMEOUT_S,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=ADMIN_TIMEOUT_S)
            created.append(name)
        except KafkaException as exc:
            # Another process may have created it between our list and our create.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise InfraError(f"could not create topic {name}: {exc.args[0].str()}") from exc
    log.info("created %d topics", len(created))
    return created


def partition_counts(bootstrap_servers: str) -> dict[str, int]:
    """Every topic on the broker (internal ones left out) with its partition count."""
    metadata = admin_client(bootstrap_servers).list_topics(timeout=ADMIN_TIMEOUT_S)
    return {
        name: len(meta.partitions)
        for name, meta in metadata.topics.items()
        if not name.startswith("__")
    }


def record_counts(bootstrap_servers: str, topics: Iterable[str]) -> dict[str, int]:
    """Records stored on each topic now (high minus low watermark, summed over partitions)."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": "paysim-counter"})
    try:
        metadata = consumer.list_topics(timeout=ADMIN_TIMEOUT_S)
        counts = {}
        for topic in topics:
            total = 0
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=ADMIN_TIMEOUT_S
                )
                total += high - low
            counts[topic] = total
        return counts
    finally:
        consumer.close()
