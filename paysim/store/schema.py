"""The tables every service shares: the outbox and the processed-event tracking rows.

Each service keeps its own tables in its own ``MetaData`` and creates them together with
these through ``create_schema(engine, service_metadata)``. The SQL is portable: SQLite
and PostgreSQL get the same tables from the same definitions.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite autoincrements only a column declared exactly INTEGER PRIMARY KEY; PostgreSQL
# gets a BIGINT identity so a long-running testbench cannot run out of ids.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    # The id is the publish order. AUTOINCREMENT on SQLite: ids are never reused, even
    # after the newest rows are deleted, so a late row never sorts before an older one.
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("topic", String(249), nullable=False),  # Kafka's longest topic name
    Column("key", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", Text, nullable=False),  # JSON object of str -> str
    Column("created_at", DateTime(timezone=True), nullable=False),
    # pending -> sent, or pending -> parked (a row that cannot be published) -> pending
    # again by hand (``paysim outbox retry``). Values: see ``paysim.store.outbox.RowState``.
    Column("state", String(16), nullable=False, default="pending", server_default="pending"),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("parked_at", DateTime(timezone=True), nullable=True),
    # Failed attempts charged to this row itself (see the relay's docstring).
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text, nullable=True),  # while parked: why it was parked
    # One event goes to two topics (its own and its family's catch-all), so the event id
    # is unique per topic: a second add() of the same event is a caller bug and fails.
    UniqueConstraint("event_id", "topic", name="uq_outbox_event_topic"),
    sqlite_autoincrement=True,
)

# The relay's query (pending rows in id order) reads only this small partial index,
# however many sent rows the table has kept; parked rows (listed, counted for a gauge
# each round) have one of their own.
Index(
    "ix_outbox_pending",
    outbox.c.id,
    sqlite_where=outbox.c.state == "pending",
    postgresql_where=outbox.c.state == "pending",
)
Index(
    "ix_outbox_parked",
    outbox.c.id,
    sqlite_where=outbox.c.state == "parked",
    postgresql_where=outbox.c.state == "parked",
)
# The retention prune deletes sent rows by age: the oldest are found without a scan.
Index("ix_outbox_sent_at", outbox.c.sent_at)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer_group", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)
# The retention prune finds the oldest tracking rows without a scan.
Index("ix_processed_events_processed_at", processed_events.c.processed_at)


def create_schema(engine: Engine, *extra_metadata: MetaData) -> None:
    """Create the shared tables and each service's own tables, those that do not exist.

    On SQLite the check and the creation run in one ``BEGIN IMMEDIATE`` transaction, so
    several processes starting at once do not race. On PostgreSQL call it from one
    process (or accept that a racing ``CREATE TABLE`` may fail and be retried).
    """
    with engine.begin() as connection:
        for meta in (metadata, *extra_metadata):
            meta.create_all(connection)
