"""The payment service: Stripe through the gateway, its own store, events via the outbox."""
