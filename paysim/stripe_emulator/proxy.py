"""The path of every /v1 request: idempotency, stripe-mock, then the emulator's overlay.

1. A POST with an ``Idempotency-Key`` seen before is answered from the store.
2. The request goes to stripe-mock; whatever it rejects is answered as it answered.
3. Endpoints the emulator owns overlay its state onto stripe-mock's answer; any other
   endpoint answers with stripe-mock's response unchanged.
4. The answer is saved under the idempotency key before it is sent, so a client that
   never sees it (timeout, dropped connection) gets it on retry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

from starlette.requests import Request
from starlette.responses import Response

from paysim.stripe_emulator import form, routes, stripe_errors
from paysim.stripe_emulator.api_call import ApiCall, HandlerEnv, api_key_of
from paysim.stripe_emulator.forwarding import (
    StripeMockForwarder,
    StripeMockUnreachableError,
    UpstreamResponse,
)
from paysim.stripe_emulator.idempotency import (
    IdempotencyStore,
    Replay,
    Reservation,
    StoredResponse,
    fingerprint,
)
from paysim.stripe_emulator.records import new_id
from paysim.stripe_emulator.stripe_errors import EmulatedStripeError

JSON = "application/json"


def _encode(
    status: int, body: object, request_id: str, headers: tuple[tuple[str, str], ...] = ()
) -> StoredResponse:
    data = json.dumps(body, indent=2).encode()
    return StoredResponse(
        status, data, (("content-type", JSON), ("request-id", request_id), *headers)
    )


def _as_is(upstream: UpstreamResponse, request_id: str) -> StoredResponse:
    headers = (("content-type", upstream.content_type), ("request-id", request_id))
    return StoredResponse(upstream.status, upstream.body, headers)


class StripeProxy:
    """Answers /v1 requests; owns no state itself, only the order things happen in."""

    def __init__(
        self,
        forwarder: StripeMockForwarder,
        idempotency: IdempotencyStore,
        env: HandlerEnv,
        default_api_version: str,
    ) -> None:
        self._forwarder = forwarder
        self._idempotency = idempotency
        self._env = env
        self._default_api_version = default_api_version

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        call = self._call(request, body)
        reservation: Reservation | None = None
        if call.method == "POST" and call.idempotency_key:
            try:
                found = self._idempotency.begin(
                    api_key_of(call.authorization),
                    call.idempotency_key,
                    fingerprint(call.method, call.path, form.parse_pairs(body)),
                )
            except EmulatedStripeError as refusal:
                refused = _encode(refusal.status, refusal.body, call.request_id, refusal.headers)
                return self._respond(refused, call)
            if isinstance(found, Replay):
                return self._respond(found.response, call, replayed=True)
            reservation = found
        # Shielded: once begun, an operation runs to its end and saves its answer even if
        # the client hangs up (or the request task is cancelled) half-way through.
        answer = await asyncio.shield(self._apply(call, request, body, reservation))
        return self._respond(answer, call)

    async def _apply(
        self, call: ApiCall, request: Request, body: bytes, reservation: Reservation | None
    ) -> StoredResponse:
        try:
            answer, keep = await self._execute(call, request, body)
        except BaseException:
            if reservation is not None:
                self._idempotency.release(reservation)
            raise
        if reservation is not None:
            if keep:
                self._idempotency.complete(reservation, answer)
            else:
                self._idempotency.release(reservation)
        return answer

    def _call(self, request: Request, body: bytes) -> ApiCall:
        query = request.url.query
        raw = body if request.method == "POST" else query
        return ApiCall(
            method=request.method,
            path=request.url.path,
            params=form.nest(form.parse_pairs(raw)),
            path_args=(),
            authorization=request.headers.get("authorization"),
            idempotency_key=request.headers.get("idempotency-key"),
            request_id=new_id("req", 14),
            api_version=request.headers.get("stripe-version", self._default_api_version),
        )

    async def _execute(
        self, call: ApiCall, request: Request, body: bytes
    ) -> tuple[StoredResponse, bool]:
        """The answer, and whether it is saved for the idempotency key (the endpoint ran)."""
        try:
            upstream = await self._forwarder.forward(
                call.method, call.path, request.url.query, request.headers.items(), body
            )
        except StripeMockUnreachableError as exc:
            reply = stripe_errors.api_error(502, f"The Stripe emulator's backend failed: {exc}")
            return _encode(reply.status, reply.body, call.request_id), False
        if upstream.status >= 400:
            return _as_is(upstream, call.request_id), False
        found = routes.match(call.method, call.path)
        if found is None:
            return _as_is(upstream, call.request_id), True
        handler, args = found
        owned = dataclasses.replace(call, path_args=args)
        try:
            result = await handler(owned, upstream.json(), self._env)
        except EmulatedStripeError as reply:
            return _encode(reply.status, reply.body, call.request_id), True
        return _encode(200, result, call.request_id), True

    def _respond(self, stored: StoredResponse, call: ApiCall, replayed: bool = False) -> Response:
        headers = dict(stored.headers)
        headers["stripe-version"] = call.api_version
        if call.idempotency_key:
            headers["idempotency-key"] = call.idempotency_key
        if replayed:
            headers["idempotent-replayed"] = "true"
            headers["original-request"] = headers.get("request-id", "")
            headers["request-id"] = call.request_id
        media_type = headers.pop("content-type", JSON)
        return Response(stored.body, stored.status, headers=headers, media_type=media_type)
