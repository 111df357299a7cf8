"""Topics as pandas DataFrames, one row a record, for notebooks and reports.

Each record is decoded with the same codec the services use, so a row shows what a
consumer would see: the wire fields (camelCase, flattened), plus where the record sits
(topic, partition, offset, key). Amounts stay exact: every decimal wire field (``amount``,
``refundAmount``, ``totalAmount``) is a decimal string, never a float. A record that does
not decode gets a row with an ``error`` column instead of breaking the whole frame: a
poison record is something to look at, not a reason to see nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from paysim.bus.reader import READ_TIMEOUT_S, Record, read_records
from paysim.errors import InvalidEventError
from paysim.topics import CATALOG

LEADING_COLUMNS = [
    "topic",
    "partition",
    "offset",
    "key",
    "timestamp",
    "eventType",
    "eventId",
    "source",
    "orderId",
    "paymentId",
    "status",
    "previousStatus",
    "amount",
    "currency",
]
"""The columns every frame starts with, in this order; the other wire fields follow."""

TRAILING_COLUMNS = ["recordTimestamp", "error"]

OWN_TOPICS: tuple[str, ...] = tuple(t.name for t in CATALOG if t.event_type is not None)
"""Every topic that carries one event type: the catch-alls (which repeat them) and the
dead-letter topics are left out."""


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns; decimals become exact strings."""
    flat: dict[str, Any] = {}
    for name, value in data.items():
        column = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{column}."))
        elif isinstance(value, Decimal):
            flat[column] = str(value)
        else:
            flat[column] = value
    return flat


def _utc(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def record_row(record: Record) -> dict[str, Any]:
    """One record as a row: where it sits, then its decoded wire fields (or an error)."""
    row: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key,
        "recordTimestamp": _utc(record.timestamp_ms),
    }
    try:
        event = record.event()
    except InvalidEventError as exc:
        # The record's own time and headers are all that can be trusted here.
        row["timestamp"] = row["recordTimestamp"]
        row["eventType"] = record.headers.get("eventType")
        row["eventId"] = record.headers.get("eventId")
        row["error"] = str(exc)
        return row
    row.update(_flatten(event.wire_dict()))
    # The event's own time (when the service decided it), as a datetime, not its text.
    row["timestamp"] = event.timestamp.astimezone(UTC)
    return row


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """Records already read, as a frame (the leading columns first, the rest by name)."""
    rows = [record_row(r) for r in records]
    seen = {column for row in rows for column in row}
    known = LEADING_COLUMNS + TRAILING_COLUMNS
    middle = sorted(seen - set(known))
    # Built as objects first: left to itself pandas would turn an integer column with a
    # missing value (orderId of a poison row) into floats before it could be typed.
    frame = pd.DataFrame(rows, columns=LEADING_COLUMNS + middle + TRAILING_COLUMNS, dtype=object)
    for column in frame.columns:
        values = frame[column].dropna()
        if len(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            # Ids and minor units: nullable integers, exact however large.
            frame[column] = frame[column].astype("Int64")
        elif len(values):
            # An all-missing column stays object: inferred, it would become float64.
            frame[column] = frame[column].infer_objects()
    for column in ("timestamp", "recordTimestamp"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def topic_frame(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    order_id: int | str | None = None,
    timeout_s: float = READ_TIMEOUT_S,
) -> pd.DataFrame:
    """Every record on the topics now, one row each, in (topic, partition, offset) order.

    With ``order_id``, only that order's records (the record key is the orderId).
    """
    records = read_records(bootstrap_servers, topics, timeout_s)
    if order_id is not None:
        key = str(order_id)
        records = [r for r in records if r.key == key]
    return records_frame(records)


def audit_trail(
    bootstrap_servers: str, order_id: int | str, *, timeout_s: float = READ_TIMEOUT_S
) -> pd.DataFrame:
    """Every event of one order, across the payment, order and delivery families, by time.

    Read from the per-type topics only: each event is also on its family's catch-all,
    and reading both would show it twice. Ties in time keep (topic, partition, offset)
    order, so the sort is stable run to run.
    """
    frame = topic_frame(bootstrap_servers, OWN_TOPICS, order_id=order_id, timeout_s=timeout_s)
    return frame.sort_values(
        ["timestamp", "topic", "partition", "offset"], kind="stable"
    ).reset_index(drop=True)
