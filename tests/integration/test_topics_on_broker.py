from paysim.bus.admin import ensure_topics, partition_counts
from paysim.topics import CATALOG


def test_every_catalog_topic_exists_with_its_partition_count(bootstrap_servers: str) -> None:
    on_broker = partition_counts(bootstrap_servers)
    expected = {t.name: t.partitions for t in CATALOG}
    assert {name: on_broker.get(name) for name in expected} == expected


def test_creating_topics_again_is_a_no_op(bootstrap_servers: str) -> None:
    assert ensure_topics(bootstrap_servers) == []
