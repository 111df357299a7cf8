"""The refund endpoints, and charge retrieval for the charges the emulator made."""

from __future__ import annotations

import logging

from paysim.stripe_emulator import webhooks
from paysim.stripe_emulator.api_call import ApiCall, HandlerEnv
from paysim.stripe_emulator.render import render_charge, render_refund
from paysim.stripe_emulator.webhooks import JsonObject

logger = logging.getLogger(__name__)


async def create_refund(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    """Refund all or part of a paid intent (by ``payment_intent`` or ``charge``)."""
    outcome = env.state.refund(
        payment_intent=call.str_param("payment_intent"),
        charge=call.str_param("charge"),
        amount=call.int_param("amount"),
        reason=call.str_param("reason"),
        metadata=call.map_param("metadata"),
        idempotency_key=call.idempotency_key,
    )
    logger.info(
        "refund created refundId=%s paymentIntentId=%s amount=%d idempotencyKey=%s",
        outcome.refund.id,
        outcome.refund.payment_intent,
        outcome.refund.amount,
        call.idempotency_key,
    )
    charge_template = await env.template(call, f"/v1/charges/{outcome.charge.id}")
    charge = render_charge(charge_template, outcome.charge)
    env.publish(call.event(webhooks.CHARGE_REFUNDED, charge))
    return render_refund(template, outcome.refund)


async def retrieve_refund(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    return render_refund(template, env.state.refund_record(call.path_args[0]))


async def retrieve_charge(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    """A charge the emulator made; any other id is stripe-mock's answer, unchanged."""
    charge = env.state.charge(call.path_args[0])
    return template if charge is None else render_charge(template, charge)
