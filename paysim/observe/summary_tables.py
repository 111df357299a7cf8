"""paysim's own views as small pandas tables, for notebooks and reports.

Each function turns one thing paysim already exposes (the topic catalog, an event's JSON
Schema, the services' HTTP APIs, the Stripe emulator's ledger and webhook log, dead
letters) into a DataFrame with a few readable columns, so a notebook shows it as a
table instead of printing JSON. Nothing here changes anything.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import httpx
import pandas as pd

from paysim.bus.admin import partition_counts
from paysim.bus.dead_letters import DeadLetter
from paysim.domain.events import Event
from paysim.schema_export import json_schema
from paysim.stripe_emulator.client import EmulatorAdmin
from paysim.stripe_emulator.models import Ledger
from paysim.topics import CATALOG

TIMEOUT = httpx.Timeout(20.0)
NOTIFICATION_COLUMNS = ["sentAt", "eventType", "channel", "template", "subject", "text"]
HISTORY_COLUMNS = ["at", "from", "to", "applied", "cause", "note"]


def topics_table(bootstrap_servers: str) -> pd.DataFrame:
    """The topic catalog next to what the broker has: one row a topic, in catalog order."""
    on_broker = partition_counts(bootstrap_servers)
    rows = [
        {
            "topic": t.name,
            "family": t.family,
            "carries": t.event_type
            or ("dead letters" if t.name.endswith("-dlq") else "every event of the family"),
            "partitions": t.partitions,
            "on broker": on_broker.get(t.name, 0),
        }
        for t in CATALOG
    ]
    return pd.DataFrame(rows)


def _type_of(spec: Mapping[str, Any]) -> str:
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in spec:
        kinds = [_type_of(s) for s in spec["anyOf"] if s.get("type") != "null"]
        return " | ".join(kinds)
    kind = str(spec.get("type", "?"))
    return f"{kind} ({spec['format']})" if "format" in spec else kind


def event_fields(model: type[Event]) -> pd.DataFrame:
    """The wire fields of an event model, from its JSON Schema: name, type, required."""
    schema = json_schema(model)
    required = set(schema.get("required", []))
    rows = [
        {
            "field": name,
            "type": _type_of(spec),
            "required": name in required,
            "default": spec.get("default"),
            "description": spec.get("description", ""),
        }
        for name, spec in schema["properties"].items()
    ]
    return pd.DataFrame(rows)


def get_json(url: str, params: Mapping[str, Any] | None = None) -> Any:
    """GET a service's JSON answer, with a timeout; an HTTP error raises."""
    response = httpx.get(url, params=params, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


def notifications(notification_api: str, order_id: int) -> pd.DataFrame:
    """What the customer of one order was told, oldest first."""
    found = get_json(f"{notification_api}/api/notifications", {"orderId": order_id})
    frame = pd.DataFrame(found, columns=["id", *NOTIFICATION_COLUMNS])
    return frame.sort_values("id").drop(columns="id").reset_index(drop=True)


def wait_for_notifications(
    notification_api: str,
    order_id: int,
    event_type: str,
    *,
    count: int = 1,
    timeout_s: float = 30.0,
) -> pd.DataFrame:
    """Poll until at least ``count`` messages about ``event_type`` went to the order's
    customer; returns every message of the order. Raises ``TimeoutError`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = notifications(notification_api, order_id)
        if (frame["eventType"] == event_type).sum() >= count:
            return frame
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"order {order_id}: fewer than {count} {event_type} notifications "
                f"after {timeout_s}s"
            )
        time.sleep(0.2)


def order_history(order: Mapping[str, Any]) -> pd.DataFrame:
    """An order's history (from ``GET /api/orders/{id}``): every move, applied or not."""
    frame = pd.DataFrame(order["history"], columns=HISTORY_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def compensations(order_api: str, order_ids: Collection[int]) -> pd.DataFrame:
    """The saga's compensations (refunds, payment cancels) for these orders, oldest first."""
    rows = [c for c in get_json(f"{order_api}/api/compensations") if c["orderId"] in order_ids]
    frame = pd.DataFrame(
        rows, columns=["at", "orderId", "paymentId", "kind", "reason", "amountMinor"]
    )
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["amountMinor"] = frame["amountMinor"].astype("Int64")  # a cancel has no amount
    return frame.sort_values("at").reset_index(drop=True)


def charges(ledger: Ledger, intents: Iterable[str]) -> pd.DataFrame:
    """Stripe's charge attempts for these PaymentIntents (failed ones included)."""
    wanted = set(intents)
    rows = [c.model_dump() for c in ledger.charges if c.payment_intent in wanted]
    columns = ["payment_intent", "id", "status", "amount", "amount_captured", "amount_refunded"]
    return pd.DataFrame(rows, columns=[*columns, "currency", "idempotency_key"])


def refunds(ledger: Ledger, intents: Iterable[str]) -> pd.DataFrame:
    """Stripe's refunds of these PaymentIntents, in the order they were made."""
    wanted = set(intents)
    rows = [r.model_dump() for r in ledger.refunds if r.payment_intent in wanted]
    columns = ["payment_intent", "id", "charge", "status", "amount", "currency"]
    return pd.DataFrame(rows, columns=[*columns, "idempotency_key"])


def _intent_of(event: Mapping[str, Any]) -> str | None:
    obj = event["data"]["object"]
    found = obj.get("payment_intent") if obj.get("object") == "charge" else obj.get("id")
    return None if found is None else str(found)


def stripe_events(emulator: EmulatorAdmin, intents: Iterable[str]) -> list[dict[str, Any]]:
    """The Stripe events the emulator produced about these PaymentIntents, oldest first."""
    wanted = set(intents)
    return [e for e in emulator.events() if _intent_of(e) in wanted]


def webhook_deliveries(emulator: EmulatorAdmin, intents: Iterable[str]) -> pd.DataFrame:
    """Every webhook delivery about these PaymentIntents: a duplicate is its own row."""
    about = {e["id"]: _intent_of(e) for e in stripe_events(emulator, intents)}
    rows = [
        {"payment_intent": about[d.event_id], **d.model_dump()}
        for d in emulator.webhook_deliveries()
        if d.event_id in about
    ]
    columns = ["payment_intent", "event_id", "event_type", "duplicate", "attempts", "state"]
    return pd.DataFrame(rows, columns=[*columns, "last_status"])


def wait_for_webhook_deliveries(
    emulator: EmulatorAdmin,
    intents: Iterable[str],
    *,
    count: int,
    timeout_s: float = 30.0,
) -> pd.DataFrame:
    """Poll until at least ``count`` webhook deliveries about these PaymentIntents have
    been delivered; returns every delivery about them. Raises ``TimeoutError`` otherwise."""
    wanted = list(intents)
    deadline = time.monotonic() + timeout_s
    while True:
        frame = webhook_deliveries(emulator, wanted)
        if (frame["state"] == "delivered").sum() >= count:
            return frame
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"fewer than {count} webhook deliveries about {wanted} after {timeout_s}s"
            )
        time.sleep(0.2)


def dead_letters(letters: Iterable[DeadLetter]) -> pd.DataFrame:
    """Dead letters with where they came from and why, one row each."""
    rows = [
        {
            "dlq": f"{d.record.topic}[{d.record.partition}]@{d.record.offset}",
            "key": d.record.key,
            "eventType": d.record.headers.get("eventType"),
            "group": d.consumer_group,
            "from": f"{d.original_topic}[{d.original_partition}]@{d.original_offset}",
            "error": d.error_class,
            "attempts": d.attempts,
            "message": d.error_message,
        }
        for d in letters
    ]
    columns = ["dlq", "key", "eventType", "group", "from", "error", "attempts", "message"]
    return pd.DataFrame(rows, columns=columns)
