"""JSON wire codec for events: exact decimal amounts out, strict validation in.

``simplejson`` is used for its ``use_decimal`` mode: amounts leave as JSON numbers
written from ``Decimal`` (never through a float) and come back as ``Decimal``.
"""

from __future__ import annotations

from typing import Any

import simplejson
from pydantic import ValidationError

from paysim.domain.events import EVENT_CLASSES, SCHEMA_VERSION, AnyEvent
from paysim.errors import InvalidEventError


def encode_event(event: AnyEvent) -> bytes:
    """Serialize an event to its wire form (UTF-8 JSON)."""
    return simplejson.dumps(event.wire_dict(), use_decimal=True, separators=(",", ":")).encode()


def decode_event(raw: bytes | str | None) -> AnyEvent:
    """Parse and validate a wire record; anything not a known, valid event raises.

    Raises ``InvalidEventError`` (a permanent error: retrying cannot fix the record) for
    bad JSON, an unknown ``eventType``, a ``schemaVersion`` newer than this reader, or a
    field that fails validation.
    """
    if raw is None:
        raise InvalidEventError("record has no value")
    try:
        data: Any = simplejson.loads(raw, use_decimal=True)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEventError(f"record is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidEventError(f"record is a JSON {type(data).__name__}, not an object")
    version = data.get("schemaVersion", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION or version < 1:
        raise InvalidEventError(
            f"schemaVersion {version!r} is not readable (this reader knows 1..{SCHEMA_VERSION})"
        )
    event_type = data.get("eventType")
    cls = EVENT_CLASSES.get(event_type) if isinstance(event_type, str) else None
    if cls is None:
        raise InvalidEventError(f"unknown eventType {event_type!r}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<record>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidEventError(f"invalid {event_type} record: {problems}") from exc
