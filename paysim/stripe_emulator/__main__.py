"""``python -m paysim.stripe_emulator``: serve the emulator in front of a real stripe-mock.

    python -m paysim.stripe_emulator --stripe-mock-base http://127.0.0.1:12111 \\
        --host 127.0.0.1 --port 12200 --webhook-url URL --webhook-secret whsec_...

``--stripe-mock-base`` defaults to ``PAYSIM_STRIPE_API_BASE`` when that is set, and
``--webhook-secret`` to paysim's ``PAYSIM_WEBHOOK_SECRET`` (the secret the payment
service verifies with), so that a stack started without it still signs as expected.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from pydantic import SecretStr

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
    parser.add_argument(
        "--webhook-secret", help="endpoint secret (whsec_...) to sign with; default: paysim's"
    )
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
    secret = SecretStr(args.webhook_secret) if args.webhook_secret else settings.webhook_secret
    webhooks = WebhookSettings(
        url=args.webhook_url,
        secret=secret,
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
