"""Closing time: after a load run, every open order is finished by its people.

A run that stops mid-flow leaves orders waiting on a person, not on the system: paid
orders the restaurant has not moved yet, and checkouts the customer walked away from.
Before the invariants are judged, the restaurant finishes its queue and the customers
cancel what they did not pay for, so that "nothing left in flight" is about paysim.
"""

from __future__ import annotations

import logging
import time
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
            if _close_one(http, order_api, order_id, timeout_s):
                touched += 1
    log.info("closing time: %d open orders finished or cancelled", touched)
    return touched


def _close_one(http: httpx.Client, order_api: str, order_id: int, timeout_s: float) -> bool:
    """Cancel an unpaid order or hand a paid one to a courier; False if it was not open.

    A cancel can be refused because the payment completed after the order was read: its
    event is on the way, so the order is read again (until ``timeout_s``) and then moved
    along by the restaurant like any paid order, rather than left PENDING.
    """
    url = f"{order_api}/api/orders/{order_id}"
    deadline = time.monotonic() + timeout_s
    touched = False
    while True:
        response = http.get(url)
        if response.status_code != 200:
            return touched
        status = response.json()["status"]
        if status in ABANDONED:
            cancel = http.post(f"{url}/cancel", json={"reason": "closing time: never paid"})
            touched = True
            if cancel.status_code == 200:
                return True
        elif status in RESTAURANT_NEXT:
            for move in RESTAURANT_NEXT[status]:
                http.post(f"{url}/{move}", json={})
            return True
        else:
            return touched
        if time.monotonic() > deadline:
            log.warning("closing time: order %s stayed %s", order_id, status)
            return touched
        time.sleep(0.2)
