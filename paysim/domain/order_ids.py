"""Order ids: which one a checkout may use, so that two checkouts never share an order.

The payment service gives an orderId to every checkout that comes without one, counting
up from 1; these *generated* ids stay below ``CLIENT_ORDER_IDS``. A client that brings
its own orderId picks it from ``CLIENT_ORDER_IDS`` (10**12 up to 2**53 - 1, which a
JavaScript client still holds exactly), so the two kinds can never meet. Every orderId
belongs to the user whose checkout used it first: another user's checkout naming it is
refused. Naming an orderId already used is how a user pays again for an order of theirs
(a new payment after a declined or cancelled one), so it is allowed for that user,
generated id or not; it is never a way into someone else's order.
"""

from __future__ import annotations

from paysim.errors import PermanentError

CLIENT_ORDER_IDS = range(10**12, 2**53)
"""The orderIds a client may choose for a new order; generated ids stay below."""


class OrderIdTakenError(PermanentError):
    """The orderId belongs to another user's checkout."""


class OrderIdOutOfRangeError(PermanentError):
    """A new orderId chosen by the client lies outside ``CLIENT_ORDER_IDS``."""


def generated(number: int) -> int:
    """The next generated orderId, checked to stay below the clients' range."""
    if not 0 < number < CLIENT_ORDER_IDS.start:
        raise OrderIdOutOfRangeError(
            f"generated orderId {number} would enter the range kept for clients' own ids"
        )
    return number


def may_claim(order_id: int, user_id: int, owner: int | None) -> bool:
    """Check that ``user_id``'s checkout may name ``order_id``; True if it is a new order.

    ``owner`` is the user whose checkout used ``order_id`` first, None if none did.
    """
    if owner is not None:
        if owner != user_id:
            raise OrderIdTakenError(
                f"orderId {order_id} belongs to another customer's checkout; "
                "choose another, or leave orderId out to have one generated"
            )
        return False
    if order_id not in CLIENT_ORDER_IDS:
        raise OrderIdOutOfRangeError(
            f"orderId {order_id} is not one of yours, and a new order's own id must lie in "
            f"{CLIENT_ORDER_IDS.start}..{CLIENT_ORDER_IDS.stop - 1} (ids below are generated); "
            "leave orderId out to have one generated"
        )
    return True
