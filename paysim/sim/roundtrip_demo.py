"""The demo: one event of every payment type through the real broker, shown as a table."""

from __future__ import annotations

import random

from rich.console import Console
from rich.table import Table

from paysim import infra
from paysim.config import Settings
from paysim.sim.event_roundtrip import publish_and_read_back, sample_payment_events


def run(console: Console, settings: Settings | None = None) -> None:
    settings = settings or Settings()
    already_running = infra.status(settings).healthy
    with console.status("starting Kafka and stripe-mock..."):
        endpoints = infra.up(settings)
    console.print(
        f"[bold]stack[/] {endpoints.backend}: Kafka {endpoints.bootstrap_servers}, "
        f"stripe-mock {endpoints.stripe_api_base}"
    )
    try:
        order_id = random.randint(1, 1_000_000)
        events = sample_payment_events(order_id)
        records = publish_and_read_back(endpoints.bootstrap_servers, events)
        table = Table(title=f"Payment events of order {order_id}, read back from Kafka")
        for column in ("topic", "partition:offset", "key", "eventType", "status", "amount"):
            table.add_column(column, no_wrap=True)
        sent_order = {str(e.event_id): i for i, e in enumerate(events)}
        for record in sorted(records, key=lambda r: sent_order[r.headers["eventId"]]):
            event = record.event()
            amount = getattr(event, "amount", None)
            table.add_row(
                record.topic,
                f"{record.partition}:{record.offset}",
                record.key or "",
                event.event_type.value,
                str(getattr(event, "status", "") or ""),
                str(amount) if amount else "",
            )
        console.print(table)
        console.print(f"{len(records)} of {len(events)} events read back")
    finally:
        if not already_running:
            infra.down(settings)
            console.print("stack stopped")
