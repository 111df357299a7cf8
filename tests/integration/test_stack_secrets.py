"""The running stack's secrets: its own, private, never on a command line; the emulator
it started wants its token. Against the session's real stack (every service a process)."""

from __future__ import annotations

import json
import stat

import httpx
import psutil
import pytest

from paysim import stack_secrets
from paysim.config import Settings
from paysim.infra import service_launcher
from paysim.infra.service_launcher import ServiceUrls
from paysim.stripe_emulator.webhooks import signature_header

pytestmark = pytest.mark.integration

OLD_FIXED_DEFAULT = "whsec_paysim_local_testbench"


def test_secrets_are_in_the_environment_never_on_a_command_line(
    stack_settings: Settings, services: ServiceUrls, webhook_secret: str
) -> None:
    path = stack_secrets.path_in(stack_settings.resolved_run_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    recorded = stack_secrets.load(stack_settings.resolved_run_dir)
    assert recorded is not None
    for name in ("stripe-emulator", "payment"):
        process = psutil.Process(service_launcher.process_of(stack_settings, name).pid)
        command_line = " ".join(process.cmdline())
        for value in recorded.environ().values():
            assert value not in command_line, name
        assert process.environ()[stack_secrets.WEBHOOK_SECRET_ENV] == webhook_secret
    assert webhook_secret != OLD_FIXED_DEFAULT


def test_a_webhook_signed_with_the_old_fixed_default_is_refused(services: ServiceUrls) -> None:
    payload = json.dumps({"id": "evt_old_default", "type": "payment_intent.succeeded"}).encode()
    answer = httpx.post(
        f"{services.payment_api}/webhooks/stripe",
        content=payload,
        headers={
            "Stripe-Signature": signature_header(payload, OLD_FIXED_DEFAULT),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 400


def test_the_stacks_emulator_wants_the_stacks_token(services: ServiceUrls) -> None:
    ledger = f"{services.stripe_emulator}/_emulator/ledger"
    assert httpx.get(ledger, timeout=10).status_code == 401
    bearer = {"Authorization": f"Bearer {services.admin_token.get_secret_value()}"}
    assert httpx.get(ledger, headers=bearer, timeout=10).status_code == 200
