"""Which /v1 endpoints the emulator overlays with its state; all others pass through."""

from __future__ import annotations

import re
from dataclasses import dataclass

from paysim.stripe_emulator import intent_handlers, refund_handlers
from paysim.stripe_emulator.api_call import Handler

_ID = r"([A-Za-z0-9_]+)"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _route(method: str, path: str, handler: Handler) -> Route:
    return Route(method, re.compile(path.replace("{id}", _ID) + "/?"), handler)


ROUTES: tuple[Route, ...] = (
    _route("POST", "/v1/payment_intents", intent_handlers.create_intent),
    _route("POST", "/v1/payment_intents/{id}/confirm", intent_handlers.confirm_intent),
    _route("POST", "/v1/payment_intents/{id}/capture", intent_handlers.capture_intent),
    _route("POST", "/v1/payment_intents/{id}/cancel", intent_handlers.cancel_intent),
    _route("POST", "/v1/payment_intents/{id}", intent_handlers.update_intent),
    _route("GET", "/v1/payment_intents/{id}", intent_handlers.retrieve_intent),
    _route("POST", "/v1/refunds", refund_handlers.create_refund),
    _route("GET", "/v1/refunds/{id}", refund_handlers.retrieve_refund),
    _route("GET", "/v1/charges/{id}", refund_handlers.retrieve_charge),
)

# Listing and search read stripe-mock's fixtures; an id by these names is not an object.
_NOT_IDS = frozenset({"search"})


def match(method: str, path: str) -> tuple[Handler, tuple[str, ...]] | None:
    """The handler for ``method path`` and the ids in its path, or ``None``."""
    for route in ROUTES:
        if route.method != method.upper():
            continue
        found = route.pattern.fullmatch(path)
        if found is not None and not _NOT_IDS.intersection(found.groups()):
            return route.handler, found.groups()
    return None
