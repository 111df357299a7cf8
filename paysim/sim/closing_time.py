"""Closing time: after a load run, every open order is finished by its people.

A run that stops mid-flow leaves orders waiting on a person, not on the system: paid
orders the restaurant has not moved yet, and checkouts the customer walked away from.
Before the invariants are judged, the restaurant finishes its queue and the customers
cancel what they did not pay for, so that "nothing left in flight" is about paysim.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import httpx

log = logging.getLogger(__name__)

# The restaurant's remaining moves from each status, to hand the order to a courier.
RESTAURANT_NEXT = {
    "PENDING": ("confirm", "preparing", "ready-for-pickup"),
    "CONFIRMED": ("preparing", "ready-for-pickup"),
    "PREPARING": ("ready-for-pickup",),
}
ABANDONED = frozenset({"PAYMENT_PENDING", "PAYMENT_FAILED"})


def close_out(order_api: str, order_ids: Iterable[int], timeout_s: float = 20.0) -> int:
    """Finish or cancel every open order; returns how many were touched."""
    touched = 0
    with httpx.Client(timeout=timeout_s) as http:
        for order_id in order_ids:
            response = http.get(f"{order_api}/api/orders/{order_id}")
            if response.status_code != 200:
                continue
            status = response.json()["status"]
            if status in ABANDONED:
                http.post(
                    f"{order_api}/api/orders/{order_id}/cancel",
                    json={"reason": "closing time: never paid"},
                )
            elif status in RESTAURANT_NEXT:
                for move in RESTAURANT_NEXT[status]:
                    http.post(f"{order_api}/api/orders/{order_id}/{move}", json={})
            else:
                continue
            touched += 1
    log.info("closing time: %d open orders finished or cancelled", touched)
    return touched
