"""Stripe's ``Idempotency-Key`` semantics for POST requests.

The first request with a key reserves it; once its endpoint has run, its answer (success
or error alike, as at Stripe) is saved and every later request with the same key and
the same parameters gets those exact bytes back. The same key with other parameters, or
on another endpoint, is an ``idempotency_error``; the same key while the first request
is still running is a 409. A request rejected before the endpoint ran (a stripe-mock
validation error, stripe-mock unreachable) releases the key, so a retry runs afresh;
faults injected before the request is applied never take the key at all. Keys are
scoped per API key and expire after ``ttl_s`` (24 hours at Stripe).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from paysim.stripe_emulator import stripe_errors
from paysim.stripe_emulator.form import FormPairs


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer exactly as it was sent: status, body bytes and the headers that matter."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Reservation:
    """Proof that this request owns the key until it completes or releases it."""

    scope: tuple[str, str]
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Replay:
    response: StoredResponse


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    created: float
    response: StoredResponse | None = None


def fingerprint(method: str, path: str, pairs: FormPairs) -> str:
    """What must match for a key to be reused: endpoint and parameters, order aside."""
    canonical = "\n".join(f"{key}={value}" for key, value in sorted(pairs))
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


class IdempotencyStore:
    """Saved answers by (API key, idempotency key); thread-safe, bounded, expiring."""

    def __init__(
        self,
        ttl_s: float = 24 * 3600,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def begin(self, api_key: str, key: str, print_: str) -> Reservation | Replay:
        """Reserve ``key`` or find its saved answer; raises Stripe's refusals."""
        scope = (api_key, key)
        with self._lock:
            self._expire()
            entry = self._entries.get(scope)
            if entry is None:
                self._entries[scope] = _Entry(print_, self._clock())
                self._evict_overflow()
                return Reservation(scope, print_)
            if entry.fingerprint != print_:
                raise stripe_errors.idempotency_mismatch(key)
            if entry.response is None:
                raise stripe_errors.idempotency_key_in_use(key)
            return Replay(entry.response)

    def complete(self, reservation: Reservation, response: StoredResponse) -> None:
        with self._lock:
            entry = self._entries.get(reservation.scope)
            if entry is None or entry.fingerprint != reservation.fingerprint:
                # Evicted or reset meanwhile: keep the answer anyway, it was applied.
                entry = _Entry(reservation.fingerprint, self._clock())
                self._entries[reservation.scope] = entry
            entry.response = response

    def release(self, reservation: Reservation) -> None:
        with self._lock:
            entry = self._entries.get(reservation.scope)
            if entry is not None and entry.response is None:
                del self._entries[reservation.scope]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _expire(self) -> None:
        deadline = self._clock() - self._ttl_s
        while self._entries:
            scope, entry = next(iter(self._entries.items()))
            if entry.created > deadline:
                return
            del self._entries[scope]

    def _evict_overflow(self) -> None:
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)
