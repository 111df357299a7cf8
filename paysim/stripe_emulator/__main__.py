"""``python -m paysim.stripe_emulator``: serve the emulator in front of a real stripe-mock.

    python -m paysim.stripe_emulator --stripe-mock-base http://127.0.0.1:12111 \\
        --host 127.0.0.1 --port 12200 --webhook-url URL

``--stripe-mock-base`` defaults to ``PAYSIM_STRIPE_API_BASE`` when that is set. The
webhook secret and the admin token are never options (a command line is visible to
every user in ``ps``): they are the stack's, from ``PAYSIM_WEBHOOK_SECRET`` and
``PAYSIM_ADMIN_TOKEN`` or else the run folder (:mod:`paysim.stack_secrets`), the same
the payment service verifies with. ``PAYSIM_TEST_MODE=0`` turns the admin API's
controls off.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from paysim import stack_secrets
from paysim.config import Settings
from paysim.stripe_emulator.config import DEFAULT_PORT, EmulatorConfig
from paysim.stripe_emulator.models import WebhookSettings
from paysim.stripe_emulator.server import run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m paysim.stripe_emulator",
        description="Stripe test-mode emulator in front of a real stripe-mock.",
    )
    parser.add_argument("--stripe-mock-base", help="stripe-mock base URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--webhook-url", help="where webhooks are POSTed")
    parser.add_argument("--webhook-max-attempts", type=int, default=5)
    parser.add_argument("--webhook-retry-base", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--webhook-timeout", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--seed", type=int, help="seed for fault and duplicate dice")
    parser.add_argument("--log-level", default="info")
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> EmulatorConfig:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings()
    base = args.stripe_mock_base or settings.stripe_api_base
    if not base:
        parser.error("--stripe-mock-base is required (or set PAYSIM_STRIPE_API_BASE)")
    stack = stack_secrets.resolve(settings)
    webhooks = WebhookSettings(
        url=args.webhook_url,
        secret=stack.webhook_secret,
        max_attempts=args.webhook_max_attempts,
        retry_base_s=args.webhook_retry_base,
        timeout_s=args.webhook_timeout,
    )
    return EmulatorConfig(
        stripe_mock_base=base,
        host=args.host,
        port=args.port,
        webhooks=webhooks,
        fault_seed=args.seed,
        log_level=args.log_level,
        test_mode=settings.test_mode,
        admin_token=stack.admin_token,
    )


def main(argv: Sequence[str] | None = None) -> None:
    config = config_from_args(argv)
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # httpx logs every forwarded call at INFO: one line per request is uvicorn's job.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    run(config)


if __name__ == "__main__":
    main()
