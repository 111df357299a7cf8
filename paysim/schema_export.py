"""JSON Schema of every event family, and an AsyncAPI 3.0 document of every topic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paysim import __version__
from paysim.domain.events import DeliveryEvent, Event, OrderEvent, PaymentEvent
from paysim.topics import CATALOG, Topic

MODELS: dict[str, type[Event]] = {
    "PaymentEvent": PaymentEvent,
    "OrderEvent": OrderEvent,
    "DeliveryEvent": DeliveryEvent,
}
FAMILY_MODEL = {"payment": "PaymentEvent", "order": "OrderEvent", "delivery": "DeliveryEvent"}


def json_schema(model: type[Event]) -> dict[str, Any]:
    """The wire schema: the model's fields plus the plan's decimal amount fields."""
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    for _, wire_field in model.money_fields:
        schema["properties"][wire_field] = {
            "type": "number",
            "description": "Decimal amount in major units, rendered exactly from the "
            "minor-unit field; informational, the minor-unit field is authoritative.",
        }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _channel(topic: Topic) -> dict[str, Any]:
    model = FAMILY_MODEL[topic.family]
    what = f"carries {topic.event_type}" if topic.event_type else "catch-all or dead letters"
    return {
        "address": topic.name,
        "description": f"{topic.partitions} partition(s); key = orderId; {what}.",
        "messages": {model: {"$ref": f"#/components/messages/{model}"}},
    }


def asyncapi_document() -> dict[str, Any]:
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "paysim payment, order and delivery events",
            "version": __version__,
            "description": "Events of the food-delivery payment integration on Apache Kafka.",
        },
        "defaultContentType": "application/json",
        "channels": {t.name: _channel(t) for t in CATALOG},
        "components": {
            "messages": {
                name: {
                    "name": name,
                    "contentType": "application/json",
                    "headers": {
                        "type": "object",
                        "properties": {
                            "eventType": {"type": "string"},
                            "eventId": {"type": "string"},
                            "schemaVersion": {"type": "string"},
                        },
                    },
                    "payload": json_schema(model),
                }
                for name, model in MODELS.items()
            }
        },
    }


def export(out_dir: Path) -> list[Path]:
    """Write one JSON Schema file per event family and ``asyncapi.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in MODELS.items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(json.dumps(json_schema(model), indent=2) + "\n")
        written.append(path)
    path = out_dir / "asyncapi.json"
    path.write_text(json.dumps(asyncapi_document(), indent=2) + "\n")
    written.append(path)
    return written
