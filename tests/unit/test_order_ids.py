"""Order ids: generated and client-chosen ones never meet, and nobody joins another's order."""

from __future__ import annotations

import pytest

from paysim.domain.order_ids import (
    CLIENT_ORDER_IDS,
    OrderIdOutOfRangeError,
    OrderIdTakenError,
    generated,
    may_claim,
)

FIRST_CLIENT_ID = CLIENT_ORDER_IDS.start


def test_generated_ids_stay_below_the_clients_range() -> None:
    assert generated(1) == 1
    assert generated(FIRST_CLIENT_ID - 1) == FIRST_CLIENT_ID - 1
    with pytest.raises(OrderIdOutOfRangeError, match="range kept for clients"):
        generated(FIRST_CLIENT_ID)


def test_the_clients_range_fits_a_javascript_number_and_the_stores_integer() -> None:
    assert CLIENT_ORDER_IDS.stop - 1 == 2**53 - 1 < 2**63 - 1


@pytest.mark.parametrize("order_id", [FIRST_CLIENT_ID, FIRST_CLIENT_ID + 12345, 2**53 - 1])
def test_a_new_id_in_the_clients_range_is_a_new_order(order_id: int) -> None:
    assert may_claim(order_id, user_id=7, owner=None) is True


@pytest.mark.parametrize("order_id", [1, 42, FIRST_CLIENT_ID - 1, 2**53, 2**63 - 1])
def test_a_new_id_outside_the_clients_range_is_refused(order_id: int) -> None:
    with pytest.raises(OrderIdOutOfRangeError, match="leave orderId out"):
        may_claim(order_id, user_id=7, owner=None)


@pytest.mark.parametrize("order_id", [42, FIRST_CLIENT_ID + 1])
def test_a_user_may_pay_again_for_an_order_of_their_own(order_id: int) -> None:
    assert may_claim(order_id, user_id=7, owner=7) is False


@pytest.mark.parametrize("order_id", [42, FIRST_CLIENT_ID + 1])
def test_another_users_order_is_never_joined(order_id: int) -> None:
    with pytest.raises(OrderIdTakenError, match="another customer"):
        may_claim(order_id, user_id=8, owner=7)
