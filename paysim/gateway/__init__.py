"""The Stripe adapter: the official SDK, idempotency keys, timeouts, errors mapped."""
