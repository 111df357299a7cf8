"""paysim's Stripe test-mode emulator: an HTTP service in front of the real stripe-mock.

stripe-mock validates every request and answers in Stripe's shapes but keeps no state,
never declines and sends no webhooks; the emulator adds those (see DESIGN.md, "Stripe
test-mode emulator"). Entry points: :func:`create_app`, :func:`run`,
:class:`EmulatorThread`, ``python -m paysim.stripe_emulator``; drive it with
:class:`EmulatorAdmin`.
"""

from paysim.stripe_emulator.app import create_app
from paysim.stripe_emulator.client import EmulatorAdmin
from paysim.stripe_emulator.config import EmulatorConfig
from paysim.stripe_emulator.models import FaultSpec, Ledger, WebhookSettings
from paysim.stripe_emulator.server import EmulatorThread, run

__all__ = [
    "EmulatorAdmin",
    "EmulatorConfig",
    "EmulatorThread",
    "FaultSpec",
    "Ledger",
    "WebhookSettings",
    "create_app",
    "run",
]
