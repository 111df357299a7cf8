"""Consumer lag per group and partition: how far each group is behind each partition's end.

Lag is the high watermark minus the group's committed offset: what the group would
still have to read if it stopped now. The committed offset, not the position of a
running consumer, because that is what survives a crash and what a restart resumes
from. A partition where the group has committed nothing yet counts everything that is
on it (high minus low), since the group starts from the earliest record
(``auto.offset.reset=earliest``); so does a commit that fell behind the log start
through retention.

Which partitions are looked at, per group: every partition of each topic the group has
committed on, and of any topic named (a service names the topics it subscribes to). The
groups' member assignments are not asked for: describing a group while it forms has
crashed librdkafka against Kafka 4 here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from paysim import metrics
from paysim.bus.admin import watermarks

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

LAG_TIMEOUT_S = 10.0
OFFSETS_TOPIC = "__consumer_offsets"
COLUMNS = ["group", "topic", "partition", "committed", "low", "high", "lag"]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One group's lag on one partition."""

    group: str
    topic: str
    partition: int
    committed: int | None
    """The group's committed offset; None when it has committed nothing here yet."""
    low: int
    high: int
    lag: int

    @classmethod
    def of(
        cls, group: str, topic: str, partition: int, *, committed: int | None, low: int, high: int
    ) -> PartitionLag:
        """Lag from a commit (or none) and the partition's watermarks."""
        start = low if committed is None else max(committed, low)
        return cls(group, topic, partition, committed, low, high, max(high - start, 0))


class LagProbe:
    """Holds one admin client for repeated measurements.

    Lazy: nothing connects before the first ``measure``. A measurement costs a fixed
    handful of requests however many partitions it covers: one metadata request, one
    offset fetch per group, and one list-offsets request per broker for the low and one
    for the high watermarks of every partition together.
    """

    def __init__(self, bootstrap_servers: str, *, timeout_s: float = LAG_TIMEOUT_S) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._timeout_s = timeout_s
        self._admin: AdminClient | None = None

    def measure(self, groups: Iterable[str], topics: Iterable[str] = ()) -> list[PartitionLag]:
        """The lag of every group on every partition it has (or should have) read."""
        named = set(topics)
        partitions = self._partitions()
        committed = {group: self._committed(group, partitions) for group in groups}
        wanted = {
            (topic, partition)
            for group_commits in committed.values()
            for topic in named | {t for t, _ in group_commits}
            for partition in partitions.get(topic, ())
        }
        marks = watermarks(self._client(), wanted, self._timeout_s)
        return [
            PartitionLag.of(
                group,
                topic,
                partition,
                committed=commits.get((topic, partition)),
                low=marks[topic, partition][0],
                high=marks[topic, partition][1],
            )
            for group, commits in committed.items()
            for topic in sorted(named | {t for t, _ in commits})
            for partition in partitions.get(topic, ())
        ]

    def close(self) -> None:
        self._admin = None

    def _client(self) -> AdminClient:
        if self._admin is None:
            config: dict[str, Any] = {
                "bootstrap.servers": self._bootstrap_servers,
                "client.id": "paysim-lag-probe",
                "logger": logging.getLogger("paysim.librdkafka"),
            }
            self._admin = AdminClient(config)
        return self._admin

    def _partitions(self) -> dict[str, list[int]]:
        """Every topic's partitions, from one metadata request. A topic deleted since a
        group committed on it is absent: nothing left to lag behind."""
        topics = self._client().list_topics(timeout=self._timeout_s).topics
        return {
            name: sorted(meta.partitions) for name, meta in topics.items() if meta.error is None
        }

    def _committed(
        self, group: str, partitions: dict[str, list[int]]
    ) -> dict[tuple[str, int], int]:
        # Before any group has committed, the broker has no __consumer_offsets topic, and
        # librdkafka (2.x, against Kafka 4) crashes the process on an OffsetFetch answered
        # during its creation. No such topic means no commits: ask nothing.
        if OFFSETS_TOPIC not in partitions:
            return {}
        futures = self._client().list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=self._timeout_s
        )
        result = futures[group].result(timeout=self._timeout_s)
        # A negative offset (OFFSET_INVALID) is a partition listed without a commit.
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions or []
            if tp.offset >= 0
        }


def consumer_lag(
    bootstrap_servers: str,
    groups: Iterable[str],
    *,
    topics: Iterable[str] = (),
    timeout_s: float = LAG_TIMEOUT_S,
) -> list[PartitionLag]:
    """Lag of each group on each partition, from committed offsets and high watermarks.

    ``topics`` adds topics to look at even where a group has neither committed nor been
    assigned anything yet (a service that has not started). Every Kafka call is bounded
    by ``timeout_s``; a broker that does not answer raises ``KafkaException``.
    """
    probe = LagProbe(bootstrap_servers, timeout_s=timeout_s)
    try:
        return probe.measure(groups, topics)
    finally:
        probe.close()


def _export(lags: Iterable[PartitionLag]) -> None:
    for lag in lags:
        metrics.CONSUMER_LAG.labels(lag.group, lag.topic, str(lag.partition)).set(lag.lag)


def export_lag(
    bootstrap_servers: str,
    groups: Iterable[str],
    *,
    topics: Iterable[str] = (),
    timeout_s: float = LAG_TIMEOUT_S,
) -> list[PartitionLag]:
    """Measure the groups' lag and set ``payment_consumer_lag``; returns what it measured."""
    lags = consumer_lag(bootstrap_servers, groups, topics=topics, timeout_s=timeout_s)
    _export(lags)
    return lags


def lag_worker(
    bootstrap_servers: str,
    groups: Iterable[str],
    interval_s: float = 5.0,
    *,
    topics: Iterable[str] = (),
    timeout_s: float = LAG_TIMEOUT_S,
    start_after: threading.Event | None = None,
) -> Callable[[threading.Event], None]:
    """A loop for a service's worker thread: export the lag every ``interval_s`` until stop.

    One failed measurement (broker restarting) is logged and the loop goes on: lag is
    telemetry, and a service must not die because it could not be measured.
    """
    watched = list(groups)
    named = list(topics)

    def run(stop: threading.Event) -> None:
        # Measured only once the group's own consumer has joined: by then the group
        # coordinator has loaded, and librdkafka's OffsetFetch is safe to send.
        while start_after is not None and not start_after.wait(0.2):
            if stop.is_set():
                return
        probe = LagProbe(bootstrap_servers, timeout_s=timeout_s)
        try:
            while not stop.is_set():
                try:
                    _export(probe.measure(watched, named))
                except Exception as exc:  # any failure: keep the service, try next tick
                    log.warning("could not measure lag of %s: %s", watched, exc)
                stop.wait(interval_s)
        finally:
            probe.close()

    return run


def lag_frame(
    bootstrap_servers: str,
    groups: Iterable[str],
    *,
    topics: Iterable[str] = (),
    timeout_s: float = LAG_TIMEOUT_S,
) -> pd.DataFrame:
    """The groups' lag as a DataFrame, one row a (group, topic, partition)."""
    # Here, not at the top: service processes run this module's exporter, and pandas
    # (with numpy) would cost each of them tens of MiB for a frame only notebooks draw.
    import pandas as pd

    lags = consumer_lag(bootstrap_servers, groups, topics=topics, timeout_s=timeout_s)
    frame = pd.DataFrame([asdict(lag) for lag in lags], columns=COLUMNS)
    # Nullable integers: "no commit yet" stays a missing value, not a float NaN.
    return frame.astype(
        {
            "partition": "int64",
            "committed": "Int64",
            "low": "int64",
            "high": "int64",
            "lag": "int64",
        }
    )
