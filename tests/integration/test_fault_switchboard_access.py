"""The running order service's fault switchboard wants the stack's admin token."""

from __future__ import annotations

import httpx
import pytest

from paysim.infra.service_launcher import ServiceUrls
from paysim.lab import Shop

pytestmark = pytest.mark.integration


def test_the_order_services_faults_need_the_stacks_admin_token(
    services: ServiceUrls, order_faults: Shop
) -> None:
    url = f"{services.order_api}/_faults"
    rule = {"point": "place-order", "mode": "permanent", "orderId": 1, "times": 1}
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        for method, body in (("POST", rule), ("GET", None), ("DELETE", None)):
            answer = httpx.request(method, url, json=body, headers=headers, timeout=10)
            assert answer.status_code == 401, (method, headers, answer.text)
            assert "admin token" in answer.json()["detail"]
    assert order_faults.faults() == []  # the refused POST added nothing

    added = order_faults.inject_fault("place-order", "permanent", order_id=1, times=1)
    assert [r["id"] for r in order_faults.faults()] == [added["id"]]
    order_faults.clear_faults()
    assert order_faults.faults() == []
