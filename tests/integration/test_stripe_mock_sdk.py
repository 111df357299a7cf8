import pytest
import stripe


def test_official_sdk_creates_and_confirms_a_payment_intent(stripe_api_base: str) -> None:
    client = stripe.StripeClient(
        "sk_test_paysim", base_addresses={"api": stripe_api_base}, max_network_retries=0
    )
    intent = client.v1.payment_intents.create(
        params={"amount": 2599, "currency": "usd", "payment_method_types": ["card"]}
    )
    assert intent.id.startswith("pi_")
    confirmed = client.v1.payment_intents.confirm(
        intent.id, params={"payment_method": "pm_card_visa"}
    )
    assert confirmed.object == "payment_intent"
    assert confirmed.id.startswith("pi_")


def test_stripe_mock_rejects_an_invalid_request(stripe_api_base: str) -> None:
    client = stripe.StripeClient(
        "sk_test_paysim", base_addresses={"api": stripe_api_base}, max_network_retries=0
    )
    with pytest.raises(stripe.InvalidRequestError, match="amount"):
        client.v1.payment_intents.create(
            params={"amount": "lots", "currency": "usd"}  # type: ignore[typeddict-item]
        )
