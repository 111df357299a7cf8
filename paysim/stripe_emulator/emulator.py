"""The emulator's composition root: builds its parts from one config and wires them."""

from __future__ import annotations

from dataclasses import dataclass

from paysim.stripe_emulator.api_call import HandlerEnv
from paysim.stripe_emulator.config import EmulatorConfig
from paysim.stripe_emulator.faults import FaultInjector
from paysim.stripe_emulator.forwarding import StripeMockForwarder
from paysim.stripe_emulator.idempotency import IdempotencyStore
from paysim.stripe_emulator.proxy import StripeProxy
from paysim.stripe_emulator.state import PaymentState
from paysim.stripe_emulator.webhook_sender import WebhookSender


@dataclass(frozen=True, slots=True)
class Emulator:
    """The parts of one running emulator; nothing here touches the network until started."""

    config: EmulatorConfig
    state: PaymentState
    idempotency: IdempotencyStore
    faults: FaultInjector
    webhooks: WebhookSender
    forwarder: StripeMockForwarder
    proxy: StripeProxy

    @classmethod
    def build(cls, config: EmulatorConfig) -> Emulator:
        state = PaymentState()
        idempotency = IdempotencyStore(config.idempotency_ttl_s, config.idempotency_max_keys)
        sender = WebhookSender(config.webhooks, seed=config.fault_seed)
        forwarder = StripeMockForwarder(config.stripe_mock_base, config.forward_timeout_s)
        env = HandlerEnv(state=state, forwarder=forwarder, publish=sender.publish)
        proxy = StripeProxy(forwarder, idempotency, env, config.api_version)
        return cls(
            config=config,
            state=state,
            idempotency=idempotency,
            faults=FaultInjector(config.fault_seed),
            webhooks=sender,
            forwarder=forwarder,
            proxy=proxy,
        )

    async def start(self) -> None:
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()
        await self.forwarder.close()

    def reset(self) -> None:
        """Back to how it started: no intents, charges, refunds, idempotency keys, faults
        or webhook logs, and the webhook settings the emulator was started with."""
        self.state.reset()
        self.idempotency.clear()
        self.faults.clear()
        if self.config.fault_seed is not None:
            self.faults.reseed(self.config.fault_seed)
        self.webhooks.reset(self.config.webhooks)
