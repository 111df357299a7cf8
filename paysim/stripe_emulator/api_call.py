"""One /v1 request as the emulator's handlers see it, and what handlers may use.

A handler receives the call, stripe-mock's answer to it (the template) and its
:class:`HandlerEnv`; it returns the JSON body to send, or raises a
:class:`~paysim.stripe_emulator.stripe_errors.EmulatedStripeError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from paysim.stripe_emulator import form, stripe_errors
from paysim.stripe_emulator.forwarding import StripeMockForwarder
from paysim.stripe_emulator.state import PaymentState
from paysim.stripe_emulator.webhooks import Event, EventSource, JsonObject, build_event


@dataclass(frozen=True, slots=True)
class ApiCall:
    """The parts of a request handlers need, parsed once."""

    method: str
    path: str
    params: dict[str, Any]
    path_args: tuple[str, ...]
    authorization: str | None
    idempotency_key: str | None
    request_id: str
    api_version: str

    def int_param(self, name: str) -> int | None:
        try:
            return form.get_int(self.params, name)
        except ValueError as exc:
            raise stripe_errors.invalid_request(str(exc), param=name) from exc

    def str_param(self, name: str) -> str | None:
        return form.get_str(self.params, name)

    def map_param(self, name: str) -> dict[str, str] | None:
        return form.get_str_map(self.params, name)

    def event(self, event_type: str, data_object: JsonObject) -> Event:
        source = EventSource(self.request_id, self.idempotency_key, self.api_version)
        return build_event(event_type, data_object, source)


def api_key_of(authorization: str | None) -> str:
    """The API key of a request (``Bearer sk_...`` or HTTP basic ``sk_...:``); ``""`` if none."""
    if not authorization:
        return ""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[0]
    return ""


@dataclass(frozen=True, slots=True)
class HandlerEnv:
    """What handlers act on: the store, stripe-mock (for extra templates), the webhooks."""

    state: PaymentState
    forwarder: StripeMockForwarder
    publish: Callable[[Event], None]

    async def template(self, call: ApiCall, path: str) -> JsonObject:
        """stripe-mock's fixture for another object, for events about it."""
        return await self.forwarder.fetch_object(path, call.authorization) or {}


Handler = Callable[[ApiCall, JsonObject, HandlerEnv], Awaitable[JsonObject]]
