"""Topic administration against the real broker: create the catalog, read it back."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]
from confluent_kafka.cimpl import NewTopic

from paysim.errors import InfraError
from paysim.topics import CATALOG, Topic

log = logging.getLogger(__name__)

Partition = tuple[str, int]
"""A partition as (topic, partition number)."""

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


def watermarks(
    admin: AdminClient, partitions: Iterable[Partition], timeout_s: float = ADMIN_TIMEOUT_S
) -> dict[Partition, tuple[int, int]]:
    """The low and high watermark of each partition.

    Two list-offsets requests per broker (starts, ends) for all the partitions together,
    where asking a consumer partition by partition costs two requests for each.
    """
    wanted = [TopicPartition(topic, partition) for topic, partition in set(partitions)]
    if not wanted:
        return {}

    def offsets(spec: Any) -> dict[Partition, int]:
        futures = admin.list_offsets(dict.fromkeys(wanted, spec), request_timeout=timeout_s)
        return {
            (tp.topic, tp.partition): future.result(timeout=timeout_s).offset
            for tp, future in futures.items()
        }

    # confluent-kafka (2.16) leaves OffsetSpec untyped.
    low = offsets(OffsetSpec.earliest())  # type: ignore[no-untyped-call]
    high = offsets(OffsetSpec.latest())  # type: ignore[no-untyped-call]
    return {partition: (low[partition], high[partition]) for partition in low}


def record_counts(bootstrap_servers: str, topics: Iterable[str]) -> dict[str, int]:
    """Records stored on each topic now (high minus low watermark, summed over partitions)."""
    admin = admin_client(bootstrap_servers)
    wanted = list(topics)
    metadata = admin.list_topics(timeout=ADMIN_TIMEOUT_S)
    marks = watermarks(
        admin,
        ((topic, partition) for topic in wanted for partition in metadata.topics[topic].partitions),
    )
    counts = dict.fromkeys(wanted, 0)
    for (topic, _), (low, high) in marks.items():
        counts[topic] += high - low
    return counts
