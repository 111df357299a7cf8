"""The emulator's link to the real stripe-mock: every /v1 call goes through it first.

stripe-mock validates each request against Stripe's OpenAPI spec and answers with a
response of the right shape, which the emulator uses as the template it overlays with
its own state. Every call carries a timeout; a stripe-mock that does not answer is a
:class:`StripeMockUnreachableError`, never a hang.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from paysim.errors import TransientError

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]

# Hop-by-hop and framing headers belong to each connection, not to the request.
_NOT_FORWARDED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding"}
)


class StripeMockUnreachableError(TransientError):
    """stripe-mock did not answer (refused, reset or timed out)."""


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """stripe-mock's answer: status, raw body and content type."""

    status: int
    body: bytes
    content_type: str

    def json(self) -> JsonObject:
        decoded = json.loads(self.body)
        if not isinstance(decoded, dict):
            raise ValueError("stripe-mock answered with a JSON value that is not an object")
        return decoded


class StripeMockForwarder:
    """Sends requests on to stripe-mock at ``base_url`` over one pooled HTTP client."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def forward(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> UpstreamResponse:
        kept = [(name, value) for name, value in headers if name.lower() not in _NOT_FORWARDED]
        url = f"{path}?{query}" if query else path
        try:
            response = await self._http().request(method, url, headers=kept, content=body)
        except httpx.HTTPError as exc:
            logger.warning("stripe-mock unreachable method=%s path=%s error=%r", method, path, exc)
            raise StripeMockUnreachableError(f"stripe-mock at {self.base_url}: {exc!r}") from exc
        content_type = response.headers.get("content-type", "application/json")
        return UpstreamResponse(response.status_code, response.content, content_type)

    async def fetch_object(self, path: str, authorization: str | None) -> JsonObject | None:
        """A GET for a template object; ``None`` if stripe-mock cannot give one."""
        headers = [("authorization", authorization)] if authorization else []
        try:
            upstream = await self.forward("GET", path, "", headers, b"")
            return upstream.json() if upstream.status == 200 else None
        except (StripeMockUnreachableError, ValueError):
            return None

    async def ping(self) -> tuple[bool, str | None]:
        """Whether stripe-mock answers HTTP at all (any status counts)."""
        try:
            response = await self._http().get("/", timeout=2.0)
        except httpx.HTTPError as exc:
            return False, repr(exc)
        return True, f"HTTP {response.status_code}"
