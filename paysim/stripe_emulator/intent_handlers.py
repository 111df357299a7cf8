"""The PaymentIntent endpoints: create, retrieve, update, confirm, capture, cancel.

Each runs after stripe-mock accepted the request, on stripe-mock's answer as template,
and publishes the events Stripe would send for the move it made.
"""

from __future__ import annotations

import logging
from typing import Any

from paysim.stripe_emulator import stripe_errors, webhooks
from paysim.stripe_emulator.api_call import ApiCall, HandlerEnv
from paysim.stripe_emulator.render import render_intent
from paysim.stripe_emulator.state import IntentChanges
from paysim.stripe_emulator.webhooks import JsonObject

logger = logging.getLogger(__name__)

# Parameters Stripe shows back on the intent exactly as they were sent.
_ECHOED_STRINGS = (
    "customer",
    "description",
    "on_behalf_of",
    "receipt_email",
    "setup_future_usage",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_group",
)


def _changes(call: ApiCall) -> IntentChanges:
    echoed: dict[str, Any] = {
        name: value for name in _ECHOED_STRINGS if (value := call.str_param(name)) is not None
    }
    fee = call.int_param("application_fee_amount")
    if fee is not None:
        echoed["application_fee_amount"] = fee
    return IntentChanges(
        amount=call.int_param("amount"),
        currency=call.str_param("currency"),
        payment_method=call.str_param("payment_method"),
        capture_method=call.str_param("capture_method"),
        confirmation_method=call.str_param("confirmation_method"),
        metadata=call.map_param("metadata"),
        echoed=echoed,
    )


async def create_intent(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    intent = env.state.create_intent(_changes(call))
    body = render_intent(template, intent)
    env.publish(call.event(webhooks.PAYMENT_INTENT_CREATED, body))
    if call.str_param("confirm") != "true":
        return body
    return _confirm(call, template, env, intent.id)


async def retrieve_intent(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    intent = env.state.intent(call.path_args[0])
    charge = env.state.charge(intent.latest_charge) if intent.latest_charge else None
    return render_intent(template, intent, charge)


async def update_intent(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    intent = env.state.update_intent(call.path_args[0], _changes(call))
    return render_intent(template, intent)


async def confirm_intent(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    return _confirm(call, template, env, call.path_args[0])


def _confirm(call: ApiCall, template: JsonObject, env: HandlerEnv, intent_id: str) -> JsonObject:
    """Charge the card; a decline answers 402 with the intent it left behind."""
    outcome = env.state.confirm(
        intent_id,
        payment_method=call.str_param("payment_method"),
        capture_method=call.str_param("capture_method"),
        idempotency_key=call.idempotency_key,
    )
    body = render_intent(template, outcome.intent, outcome.charge)
    logger.info(
        "payment intent confirmed paymentIntentId=%s chargeId=%s status=%s amount=%d "
        "idempotencyKey=%s",
        outcome.intent.id,
        outcome.charge.id,
        outcome.intent.status,
        outcome.charge.amount,
        call.idempotency_key,
    )
    if outcome.intent.last_payment_error is not None:
        env.publish(call.event(webhooks.PAYMENT_INTENT_PAYMENT_FAILED, body))
        raise stripe_errors.card_declined(outcome.intent.last_payment_error, body)
    if outcome.intent.status == "requires_capture":
        env.publish(call.event(webhooks.PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED, body))
    else:
        env.publish(call.event(webhooks.PAYMENT_INTENT_SUCCEEDED, body))
    return body


async def capture_intent(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    outcome = env.state.capture(call.path_args[0], call.int_param("amount_to_capture"))
    body = render_intent(template, outcome.intent, outcome.charge)
    env.publish(call.event(webhooks.PAYMENT_INTENT_SUCCEEDED, body))
    return body


async def cancel_intent(call: ApiCall, template: JsonObject, env: HandlerEnv) -> JsonObject:
    intent = env.state.cancel(call.path_args[0], call.str_param("cancellation_reason"))
    body = render_intent(template, intent)
    env.publish(call.event(webhooks.PAYMENT_INTENT_CANCELED, body))
    return body
