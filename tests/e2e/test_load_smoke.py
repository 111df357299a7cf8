"""The locust scenarios run, bounded, against the real services, and leave the
invariants holding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from paysim.config import Settings
from paysim.infra import Endpoints
from paysim.infra.service_launcher import ServiceUrls

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_locust_run_is_clean_and_its_invariants_hold(
    services: ServiceUrls, endpoints: Endpoints, stack_settings: Settings
) -> None:
    env = {
        **os.environ,
        # Where the run finds the stack's admin token, as any paysim tool does.
        "PAYSIM_RUN_DIR": str(stack_settings.resolved_run_dir),
        "PAYSIM_PAYMENT_API": services.payment_api,
        "PAYSIM_ORDER_API": services.order_api,
        "PAYSIM_STRIPE_EMULATOR": services.stripe_emulator,
        "PAYSIM_DELIVERY_API": services.delivery_api,
        "PAYSIM_BOOTSTRAP_SERVERS": endpoints.bootstrap_servers,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            "loadtests/locustfile.py",
            "--headless",
            "--users",
            "6",
            "--spawn-rate",
            "6",
            "--run-time",
            "12s",
            "--only-summary",
            "Customer",
            "Restaurant",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "PASS no payment charged twice" in output
    assert "FAIL" not in output, output[-3000:]
    orders_line = next(line for line in output.splitlines() if "orders created" in line)
    assert int(orders_line.split()[1]) > 0
