"""The services' fault switchboard (``/_faults``) is a testbench control: the admin
token opens it, nothing else does, and with test mode off it is not there at all."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from paysim.api.faults_api import fault_router
from paysim.bootstrap.common import admin_token
from paysim.config import Settings
from paysim.services.faults import FaultPoints

TOKEN = secrets.token_urlsafe(32)
RULE = {"point": "handle", "mode": "transient", "orderId": 7, "times": 1}
CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/_faults", None),
    ("POST", "/_faults", RULE),
    ("DELETE", "/_faults", None),
]
NOT_THE_TOKEN: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"X-Admin-Token": TOKEN},
]
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def switchboard(token: SecretStr | None) -> tuple[TestClient, FaultPoints]:
    faults = FaultPoints()
    app = FastAPI()
    app.include_router(fault_router(faults, token))
    return TestClient(app), faults


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_without_the_token_every_call_is_401_and_changes_nothing(
    method: str, path: str, body: dict[str, Any] | None
) -> None:
    client, faults = switchboard(SecretStr(TOKEN))
    client.post("/_faults", json=RULE, headers=BEARER)
    for headers in NOT_THE_TOKEN:
        answer = client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "admin token" in answer.json()["detail"]
    assert [r["order_id"] for r in faults.rules()] == [7]  # not added twice, not cleared


def test_the_token_adds_lists_and_clears_rules() -> None:
    client, faults = switchboard(SecretStr(TOKEN))
    added = client.post("/_faults", json=RULE, headers=BEARER)
    assert added.status_code == 201
    assert client.get("/_faults", headers=BEARER).json() == [added.json()]
    assert client.delete("/_faults", headers=BEARER).status_code == 204
    assert faults.rules() == []


@pytest.mark.parametrize("path", ["/_faults", "/_faults/", "/_faults/anything"])
def test_with_test_mode_off_it_is_not_there_whatever_the_token(path: str) -> None:
    client, faults = switchboard(None)
    for method, _path, body in CALLS:
        for headers in ({}, BEARER):
            answer = client.request(method, path, json=body, headers=headers)
            assert answer.status_code == 404, (method, path, answer.text)
            assert "test mode off" in answer.json()["detail"]
    assert faults.rules() == []


def test_a_service_gets_the_token_only_in_test_mode(tmp_path: Any) -> None:
    token = SecretStr(TOKEN)
    on = Settings(run_dir=tmp_path, test_mode=True, admin_token=token, webhook_secret=token)
    assert admin_token(on) == token
    assert admin_token(on.model_copy(update={"test_mode": False})) is None
