"""The audit trail every service keeps: one table shape, one writer, lines read back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, inspect

from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.services.delivery.tables import delivery_transitions
from paysim.services.order.tables import order_transitions
from paysim.services.payment.tables import payment_transitions
from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.store.audit_trail import AuditTrail, transitions_table

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_three_services_trails_have_one_shape() -> None:
    shapes = {
        table.name: [c.name for c in table.columns if c.name != subject]
        for table, subject in (
            (payment_transitions, "payment_id"),
            (order_transitions, "order_id"),
            (delivery_transitions, "delivery_id"),
        )
    }
    assert len({tuple(columns) for columns in shapes.values()}) == 1, shapes
    assert "event_id" in shapes["payment_transitions"]


def test_lines_are_written_in_the_callers_transaction_and_read_back_in_order(
    tmp_path: Path,
) -> None:
    metadata = MetaData()
    table = transitions_table("thing_transitions", metadata, "thing_id")
    engine = create_engine_for(sqlite_url(tmp_path / "trail.db"))
    create_schema(engine, metadata)
    assert "ix_thing_transitions_thing_id" in {
        index["name"] for index in inspect(engine).get_indexes("thing_transitions")
    }
    trail = AuditTrail(table)
    with engine.begin() as conn:
        trail.record(conn, 7, None, PaymentStatus.PENDING, applied=True, cause="create", now=T0)
        trail.record(
            conn,
            7,
            PaymentStatus.PENDING,
            PaymentStatus.COMPLETED,
            applied=False,
            cause="webhook",
            event_id="evt_1",
            note="stale",
            now=T0,
        )
        trail.record(conn, 8, None, OrderStatus.PENDING, applied=True, cause="other", now=T0)
        # A save that keeps the status is no move: no line.
        trail.record_move(
            conn, 8, OrderStatus.PENDING, OrderStatus.PENDING, cause="x", event_id=None, now=T0
        )
        trail.record_move(
            conn, 8, OrderStatus.PENDING, OrderStatus.CONFIRMED, cause="y", event_id="e", now=T0
        )
    with engine.connect() as conn:
        lines = trail.lines(conn, 7)
    assert [(line.from_status, line.to_status, line.applied) for line in lines] == [
        (None, "PENDING", True),
        ("PENDING", "COMPLETED", False),
    ]
    with engine.connect() as conn:
        moves = [(line.to_status, line.cause, line.event_id) for line in trail.lines(conn, 8)]
    assert moves == [("PENDING", "other", None), ("CONFIRMED", "y", "e")]
    assert lines[1].view() == {
        "from": "PENDING",
        "to": "COMPLETED",
        "applied": False,
        "cause": "webhook",
        "eventId": "evt_1",
        "note": "stale",
        "at": T0.isoformat(),
    }
    engine.dispose()
